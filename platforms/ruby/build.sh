#!/bin/sh
# Builds a Ruby app in /opt/app (runs inside the app-compile stage).
set -eu
cd /opt/app
if [ -f Gemfile ]; then
    # Gems Debian installed (Aptfile) are used in place; others are installed
    # into GEM_HOME=/opt/app/vendor/bundle, so they travel with the app.
    echo "wake: bundle install"
    bundle install --jobs 2
else
    echo "wake: no Gemfile; nothing to install"
fi
