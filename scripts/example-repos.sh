#!/usr/bin/env bash
# Serve the examples' extra git repos on loopback (git://127.0.0.1:9418/<name>.git).
#
#   scripts/example-repos.sh --serve                 # in the background, until stopped
#   scripts/example-repos.sh --stop                  # stop that background server
#   scripts/example-repos.sh -- doit build:bestsiteever   # only while the command runs
#
# The quick start uses --serve, so the README's `doit build:bestsiteever` works after it
# (the example's manifest clones git://127.0.0.1:9418/cache-buster.git).
#
# Each repo is made from a folder examples/<app>-<name>/ with fixed author and
# dates, so the same content always has the same commit id (and wake's keys stay put).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${WAKE_EXAMPLE_REPOS:-${WAKE_HOME:-$HOME/.wake}/example-repos}"
PORT="${WAKE_EXAMPLE_REPOS_PORT:-9418}"
MODE=run
case "${1:-}" in
    --serve) MODE=serve; shift ;;
    --stop) MODE=stop; shift ;;
    --) shift ;;
esac
PIDFILE="$BASE/daemon.pid"

answers() { git ls-remote "git://127.0.0.1:$PORT/cache-buster.git" >/dev/null 2>&1; }

if [ "$MODE" = stop ]; then
    # Only the daemon this script started (its pidfile), never one found by name.
    if [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null; then
        echo "stopped the example repos' git daemon"
    fi
    rm -f "$PIDFILE"
    exit 0
fi

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

if [ "$MODE" = serve ]; then
    if answers; then
        echo "the example repos are served on git://127.0.0.1:$PORT/ already"
        exit 0
    fi
    # Detached, so it outlives this script (like the dockerd the set-up starts).
    setsid git daemon --reuseaddr --listen=127.0.0.1 --port="$PORT" --base-path="$BASE" \
        --export-all --detach --pid-file="$PIDFILE" "$BASE"
    for _ in $(seq 1 50); do answers && break; sleep 0.1; done
    answers || { echo "example-repos: git daemon did not answer on port $PORT" >&2; exit 1; }
    echo "serving the example repos on git://127.0.0.1:$PORT/ (stop: $0 --stop)"
    exit 0
fi

git daemon --reuseaddr --listen=127.0.0.1 --port="$PORT" --base-path="$BASE" \
    --export-all "$BASE" &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true; wait $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do answers && break; sleep 0.1; done
"$@"
