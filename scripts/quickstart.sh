#!/usr/bin/env bash
# Set up everything wake needs on a fresh Debian/Ubuntu machine and run the main job.
# Idempotent: run it again and it installs nothing twice and rebuilds nothing unchanged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/ensure-env.sh

say "base image (debootstrap from this machine's Debian mirror if missing)"
wake base bootstrap

say "local cluster: Consul, rsyslog and a registry on this machine's engine"
if wake clusters list | grep -qE '^[* ] local '; then
    wake cluster status local || echo "(the local cluster is not healthy; see above)"
else
    wake cluster create local --local
fi

say "the examples' extra git repos, served on loopback (scripts/example-repos.sh --serve)"
scripts/example-repos.sh --serve

say "main job: doit deploy:bestsiteever (builds what changed, deploys what changed)"
doit deploy:bestsiteever
wake status bestsiteever
say "done: bestsiteever answers at the addresses above (curl ADDRESS/_health)"
