#!/bin/sh
# Builds a Python app into a virtual environment at /opt/app/.venv (app-compile stage).
# The first of these decides how: uv.lock, poetry.lock, Pipfile.lock, requirements.txt,
# pyproject.toml / setup.py, Pipfile. Lock files are installed as locked.
set -eu
cd /opt/app
venv=/opt/app/.venv
pip="$venv/bin/pip"
tools=/tmp/wake-tools  # installers from PyPI; never part of the app
# What the install leaves in the app's folder (setuptools' build/ and *.egg-info) is
# removed afterwards, unless the app had it itself.
had_build=$([ -e build ] && echo 1 || echo 0)
had_eggs=$(ls -d ./*.egg-info src/*.egg-info 2>/dev/null | wc -l)

tool() {  # tool PACKAGE: install a PyPI tool into its own venv
    [ -x "$tools/bin/python" ] || python3 -m venv "$tools"
    "$tools/bin/pip" install --no-cache-dir -q "$1"
}

is_package() {  # does pyproject.toml / setup.py say how to build the project itself?
    [ -f setup.py ] && return 0
    [ -f pyproject.toml ] || return 1
    python3 - <<'PY'
import sys, tomllib
data = tomllib.load(open("pyproject.toml", "rb"))
poetry = data.get("tool", {}).get("poetry", {})
sys.exit(0 if "build-system" in data and poetry.get("package-mode", True) else 1)
PY
}

python3 -m venv "$venv"
if [ -f uv.lock ]; then
    echo "wake: uv sync --locked (uv.lock)"
    tool uv
    UV_PROJECT_ENVIRONMENT="$venv" UV_PYTHON="$venv/bin/python" UV_PYTHON_DOWNLOADS=never \
        "$tools/bin/uv" sync --locked --no-dev --no-editable --no-cache
elif [ -f poetry.lock ] || [ -f Pipfile.lock ]; then
    lock=$([ -f poetry.lock ] && echo poetry.lock || echo Pipfile.lock)
    # The lock file's pins, hashes included, installed by pip with --no-deps: the same
    # versions Poetry or Pipenv would install, without their resolvers.
    echo "wake: pip install the versions pinned in $lock"
    python3 /opt/wake/lib/locked.py "$lock" > /tmp/wake-locked.txt
    if grep -q -- '--hash=' /tmp/wake-locked.txt && ! grep -v -- '--hash=' /tmp/wake-locked.txt | grep -q .; then
        "$pip" install --no-cache-dir --no-deps --require-hashes -r /tmp/wake-locked.txt
    else
        "$pip" install --no-cache-dir --no-deps -r /tmp/wake-locked.txt
    fi
    if is_package; then
        echo "wake: pip install --no-deps . (the project itself)"
        "$pip" install --no-cache-dir --no-deps .
    fi
elif [ -f requirements.txt ]; then
    echo "wake: pip install -r requirements.txt"
    "$pip" install --no-cache-dir -r requirements.txt
elif [ -f pyproject.toml ] || [ -f setup.py ]; then
    echo "wake: pip install ."
    "$pip" install --no-cache-dir .
elif [ -f Pipfile ]; then
    echo "wake: installing from Pipfile (no Pipfile.lock: resolved now)"
    tool pipenv
    "$tools/bin/pipenv" requirements > /tmp/requirements.txt
    "$pip" install --no-cache-dir -r /tmp/requirements.txt
else
    echo "wake: no requirements; the venv has the standard library only"
fi

# Framework steps. Django: collect static files, as Heroku's buildpack does
# (DISABLE_COLLECTSTATIC=1 in build_env skips it).
if [ -f manage.py ] && [ -z "${DISABLE_COLLECTSTATIC:-}" ] \
        && "$venv/bin/python" -c 'import django' 2>/dev/null; then
    echo "wake: python manage.py collectstatic --noinput (Django)"
    "$venv/bin/python" manage.py collectstatic --noinput
fi

[ "$had_build" = 1 ] || rm -rf build
[ "$had_eggs" != 0 ] || rm -rf ./*.egg-info src/*.egg-info
rm -rf "$tools" /tmp/wake-locked.txt
