#!/usr/bin/env bash
# Run wake's whole test suite (unit and integration against a real Docker engine).
# Installs and starts what the tests need; stops the dockerd it started, if any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WAKE_TEST_PACKAGES=1 source scripts/ensure-env.sh
trap stop_dockerd_if_started EXIT

wake base bootstrap
# Debian 13 (trixie): the newer language versions (Python 3.13, Node 20, ...) some tests ask for.
wake base bootstrap --suite trixie
python -m pytest "$@"
