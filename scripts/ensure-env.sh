#!/usr/bin/env bash
# Install and start what wake needs on a Debian/Ubuntu machine, idempotently:
# system packages, a virtual environment with wake, and a Docker engine.
# Sourced by quickstart.sh and test.sh; safe to run again at any time.
#
# Exports WAKE_STARTED_DOCKERD=1 when this run started dockerd (so test.sh can
# stop it again and leave the machine as it found it).
set -euo pipefail

WAKE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${WAKE_VENV:-$WAKE_ROOT/.venv}"
DOCKER_LOG="${WAKE_DOCKERD_LOG:-/var/log/wake-dockerd.log}"
DOCKER_PIDFILE=/var/run/wake-dockerd.pid
export WAKE_STARTED_DOCKERD="${WAKE_STARTED_DOCKERD:-0}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "wake setup: this step needs root (apt-get, dockerd); run it with sudo" >&2
        exit 1
    fi
}

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v git >/dev/null || missing+=(git)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v dot >/dev/null || missing+=(graphviz)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v tar >/dev/null || missing+=(tar)
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    # Clusters: the registry's certificates, and netns hosts (namespaces, a bridge, nsenter).
    command -v openssl >/dev/null || missing+=(openssl)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v nsenter >/dev/null || missing+=(util-linux)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    # The tests also drive headless Chromium (wake graph's HTML page).
    if [ "${WAKE_TEST_PACKAGES:-0}" = 1 ]; then
        command -v chromium >/dev/null || missing+=(chromium)
        # A real sshd (in a netns host) for the ssh:// engine test; not started by apt here.
        [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
        # Debian's HAProxy checks the dependency proxy's configuration (`haproxy -c`) in
        # the unit tests; clusters run it in their proxy image, not on this machine.
        [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
        # libfaketime: the reliability suite's cron test runs one host's scheduler on a
        # clock 90 s off (mounted into that container; the machine's clock is untouched).
        [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(libfaketime)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        need_root
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_venv() {
    local stamp="$VENV/.wake-installed"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtual environment $VENV"
        python3 -m venv "$VENV"
    fi
    # Reinstall only when pyproject.toml changed since the last install.
    if [ ! -f "$stamp" ] || [ "$WAKE_ROOT/pyproject.toml" -nt "$stamp" ]; then
        say "installing wake into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e "$WAKE_ROOT[test]"
        touch "$stamp"
    fi
}

docker_answers() {
    # `docker info` needs the CLI; talk to the socket with python instead so
    # a machine with only the engine works too.
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import sys, docker
try:
    docker.from_env(timeout=5).ping()
except Exception:
    sys.exit(1)
PY
}

ensure_dockerd() {
    if docker_answers; then
        return 0
    fi
    need_root
    say "starting dockerd (log: $DOCKER_LOG)"
    # Same flags every time; --pidfile guards against a second daemon.
    nohup dockerd --pidfile "$DOCKER_PIDFILE" >>"$DOCKER_LOG" 2>&1 &
    WAKE_STARTED_DOCKERD=1
    for _ in $(seq 1 60); do
        docker_answers && return 0
        sleep 0.5
    done
    echo "wake setup: dockerd did not answer within 30 s; see $DOCKER_LOG" >&2
    tail -n 20 "$DOCKER_LOG" >&2 || true
    exit 1
}

stop_dockerd_if_started() {
    if [ "$WAKE_STARTED_DOCKERD" = 1 ] && [ -f "$DOCKER_PIDFILE" ]; then
        say "stopping the dockerd this run started"
        local pid
        pid="$(cat "$DOCKER_PIDFILE")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.5
        done
    fi
}

ensure_consul() {
    # Consul for clusters (Debian 12 has none; bullseye's 1.8.7, see get-consul.sh).
    if ! command -v consul >/dev/null; then
        need_root
        say "installing consul (from Debian bullseye)"
        bash "$WAKE_ROOT/scripts/get-consul.sh"
    fi
}

install_packages
ensure_consul
ensure_venv
ensure_dockerd
export PATH="$VENV/bin:$PATH"
