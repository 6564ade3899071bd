#!/bin/sh
# Builds a Ruby app in /opt/app (runs inside the app-compile stage).
set -eu
cd /opt/app
if [ -f Gemfile ]; then
    # Gems land in vendor/bundle (BUNDLE_PATH), so they travel with the app.
    # Gems that Debian packages provide (listed in the Aptfile) resolve locally.
    echo "wake: bundle install"
    bundle install --jobs 2
else
    echo "wake: no Gemfile; nothing to install"
fi
