#!/bin/sh
# Builds a Ruby app in /opt/app (app-compile stage): its gems are in place already
# (deps.sh); check that the source agrees with them.
set -eu
cd /opt/app
if [ -f Gemfile ]; then
    bundle check
fi
