#!/bin/sh
# Installs a Ruby app's gems (app-deps stage) from its Gemfile and Gemfile.lock alone:
# gems Debian installed (Aptfile) are used in place; others go into
# GEM_HOME=/opt/app/vendor/bundle, so they travel with the app. BUNDLE_FROZEN: the
# versions are Gemfile.lock's.
set -eu
cd /opt/app
if [ -f Gemfile ]; then
    echo "wake: bundle install"
    # Again with the build tools (a gem's C extension, a git source) only if it fails
    # without them.
    /opt/wake/native "bundle install" bundle install --jobs 2
else
    echo "wake: no Gemfile; nothing to install"
fi
