#!/bin/sh
# Builds a Node.js app in /opt/app (app-compile stage).
set -eu
cd /opt/app
if [ -f package-lock.json ]; then
    echo "wake: npm ci"
    npm ci --include=dev
else
    echo "wake: npm install"
    npm install --include=dev
fi
echo "wake: npm run build (if the package has one)"
npm run build --if-present
npm prune --omit=dev
