#!/bin/sh
# native WHY [COMMAND...]: the platform's build tools ($WAKE_NATIVE_PACKAGES: compilers,
# headers, git), for dependencies that build native code or come from git.
# platform-compile leaves them out, so the image every app of the platform pulls stays
# small; deps.sh (app-deps) and build.sh (app-compile) bring them in when an install
# needs them. With a COMMAND: run it, and only if it fails without the tools, install
# them and run it again. Without: install them now. Once in, they stay for the stage.
set -eu
why=$1
shift
if [ -e /opt/wake/native.done ] || [ -z "${WAKE_NATIVE_PACKAGES:-}" ]; then
    [ $# -eq 0 ] || exec "$@"
    exit 0
fi
if [ $# -gt 0 ]; then
    if "$@"; then
        exit 0
    fi
    why="$why failed without build tools"
fi
echo "wake: $why: installing build tools ($WAKE_NATIVE_PACKAGES)"
apt-get update -qq
# shellcheck disable=SC2086 # a list of package names
apt-get install -y -qq --no-install-recommends $WAKE_NATIVE_PACKAGES >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
touch /opt/wake/native.done
if [ $# -gt 0 ]; then
    echo "wake: $why, again with build tools"
    exec "$@"
fi
