#!/usr/bin/env bash
# Serve the examples' extra git repos on loopback (git://127.0.0.1:9418/<name>.git)
# for as long as the command given after "--" runs, then stop the server.
#
#   scripts/example-repos.sh -- doit build:bestsiteever
#
# Each repo is made from a folder examples/<app>-<name>/ with fixed author and
# dates, so the same content always has the same commit id (and wake's keys stay put).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${WAKE_EXAMPLE_REPOS:-${WAKE_HOME:-$HOME/.wake}/example-repos}"
PORT="${WAKE_EXAMPLE_REPOS_PORT:-9418}"
[ "${1:-}" = "--" ] && shift

make_repo() {  # make_repo SOURCE_DIR NAME
    local src="$1" name="$2" work
    work="$(mktemp -d)"
    cp -a "$src/." "$work/"
    (
        cd "$work"
        export GIT_AUTHOR_NAME=wake GIT_AUTHOR_EMAIL=wake@localhost \
               GIT_COMMITTER_NAME=wake GIT_COMMITTER_EMAIL=wake@localhost \
               GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
        git init -q -b main . && git add -A && git commit -q -m "example repo $name"
    )
    rm -rf "$BASE/$name.git"
    git clone -q --bare "$work" "$BASE/$name.git"
    rm -rf "$work"
}

mkdir -p "$BASE"
make_repo "$ROOT/examples/bestsiteever-cache-buster" cache-buster

git daemon --reuseaddr --listen=127.0.0.1 --port="$PORT" --base-path="$BASE" \
    --export-all --pid-file="$BASE/daemon.pid" "$BASE" &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true; wait $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    git ls-remote "git://127.0.0.1:$PORT/cache-buster.git" >/dev/null 2>&1 && break
    sleep 0.1
done
"$@"
