#!/bin/sh
# Builds a Python app in /opt/app (app-compile stage), on the dependencies deps.sh
# installed into /opt/app/.venv: installs the project itself when it is a package,
# then runs framework steps.
set -eu
cd /opt/app
venv=/opt/app/.venv
pip="$venv/bin/pip"
native=/opt/wake/native  # runs an install again with the build tools if it needs them
# What the install leaves in the app's folder (setuptools' build/ and *.egg-info) is
# removed afterwards, unless the app had it itself.
had_build=$([ -e build ] && echo 1 || echo 0)
had_eggs=$(ls -d ./*.egg-info src/*.egg-info 2>/dev/null | wc -l)

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

if [ -f uv.lock ]; then
    echo "wake: uv sync --locked (the project itself, when it is a package)"
    UV_PROJECT_ENVIRONMENT="$venv" UV_PYTHON="$venv/bin/python" UV_PYTHON_DOWNLOADS=never \
        $native "uv sync" /opt/wake/tools/bin/uv sync --locked --no-dev --no-editable --no-cache
elif [ -f poetry.lock ] || [ -f Pipfile.lock ]; then
    if is_package; then
        echo "wake: pip install --no-deps . (the project itself)"
        $native "pip install ." "$pip" install --no-cache-dir --no-deps .
    fi
elif [ -f requirements.txt ]; then
    if grep -Eq '^[[:space:]]*(-e|\.|/|file:)' requirements.txt; then
        echo "wake: pip install -r requirements.txt (with local paths)"
        $native "pip install -r requirements.txt" "$pip" install --no-cache-dir -r requirements.txt
    fi
elif [ -f pyproject.toml ] || [ -f setup.py ]; then
    echo "wake: pip install ."
    $native "pip install ." "$pip" install --no-cache-dir .
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
