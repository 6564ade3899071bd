#!/bin/sh
# Installs a Python app's dependencies into /opt/app/.venv (app-deps stage), from its
# dependency files alone: the first of uv.lock, poetry.lock, Pipfile.lock,
# requirements.txt, pyproject.toml's [project] dependencies, Pipfile. Lock files are
# installed as locked. build.sh then installs the project itself (app-compile).
set -eu
cd /opt/app
venv=/opt/app/.venv
pip="$venv/bin/pip"
tools=/opt/wake/tools  # installers from PyPI; never part of the app

# pip's and uv's caches: kept between builds when wake mounts them from a volume
# (platform.toml [deps] caches), so a changed requirement downloads only what is new;
# else none is written into the image.
pip_cache=--no-cache-dir uv_cache=--no-cache
case " ${WAKE_BUILD_CACHES:-} " in *" /root/.cache/pip "*) pip_cache= ;; esac
case " ${WAKE_BUILD_CACHES:-} " in
    *" /root/.cache/uv "*) uv_cache= && export UV_LINK_MODE=copy ;;  # another filesystem
esac

tool() {  # tool PACKAGE: install a PyPI tool into its own venv
    [ -x "$tools/bin/python" ] || python3 -m venv "$tools"
    "$tools/bin/pip" install --no-cache-dir -q "$1"
}

# Wheels alone while that works. A dependency that must be built (no wheel for this
# machine, or a git URL) brings in the build tools, then pip runs again as it would
# anywhere. Like pip's --prefer-binary, an unpinned requirement whose newest release
# has no wheel gets the newest release that has one (pinned and locked versions are
# installed exactly).
wheels_first() {  # true when an install may first try wheels alone
    [ -n "${WAKE_NATIVE_PACKAGES:-}" ] && [ ! -e /opt/wake/native.done ]
}
pip_install() {
    if wheels_first && "$pip" install $pip_cache --only-binary=:all: "$@"; then
        return
    fi
    /opt/wake/native "some dependencies build from source"
    "$pip" install $pip_cache "$@"
}

python3 -m venv "$venv"
if [ -f uv.lock ]; then
    echo "wake: uv sync --locked --no-install-project (uv.lock)"
    tool uv
    export UV_PROJECT_ENVIRONMENT="$venv" UV_PYTHON="$venv/bin/python" UV_PYTHON_DOWNLOADS=never
    uv_sync="$tools/bin/uv sync --locked --no-dev --no-install-project $uv_cache"
    if ! { wheels_first && $uv_sync --no-build; }; then
        /opt/wake/native "some dependencies build from source"
        $uv_sync
    fi
elif [ -f poetry.lock ] || [ -f Pipfile.lock ]; then
    lock=$([ -f poetry.lock ] && echo poetry.lock || echo Pipfile.lock)
    # The lock file's pins, hashes included, installed by pip with --no-deps: the same
    # versions Poetry or Pipenv would install, without their resolvers.
    echo "wake: pip install the versions pinned in $lock"
    python3 /opt/wake/lib/locked.py "$lock" > /tmp/wake-locked.txt
    if grep -v -- '--hash=' /tmp/wake-locked.txt | grep -q .; then
        # Some pins have no hash (git or URL sources); pip checks all or none.
        sed -i 's/ --hash=[^ ]*//g' /tmp/wake-locked.txt
        pip_install --no-deps -r /tmp/wake-locked.txt
    else
        pip_install --no-deps --require-hashes -r /tmp/wake-locked.txt
    fi
    rm -f /tmp/wake-locked.txt
elif [ -f requirements.txt ]; then
    if grep -Eq '^[[:space:]]*(-e|\.|/|file:)' requirements.txt; then
        echo "wake: requirements.txt installs local paths; installing it with the source"
    else
        echo "wake: pip install -r requirements.txt"
        pip_install -r requirements.txt
    fi
elif [ -f pyproject.toml ]; then
    # The project's declared dependencies now; the project itself (pip install .) with
    # the source. Dynamic dependencies are left to that step.
    python3 - > /tmp/wake-deps.txt <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb")).get("project", {})
if "dependencies" not in project.get("dynamic", []):
    print("\n".join(project.get("dependencies", [])))
PY
    if grep -q . /tmp/wake-deps.txt; then
        echo "wake: pip install pyproject.toml's dependencies"
        pip_install -r /tmp/wake-deps.txt
    fi
    rm -f /tmp/wake-deps.txt
elif [ -f Pipfile ]; then
    echo "wake: installing from Pipfile (no Pipfile.lock: resolved now)"
    tool pipenv
    "$tools/bin/pipenv" requirements > /tmp/requirements.txt
    pip_install -r /tmp/requirements.txt
    rm -f /tmp/requirements.txt
else
    echo "wake: no dependency files; the venv has the standard library only"
fi
