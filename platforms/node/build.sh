#!/bin/sh
# Builds a Node.js app in /opt/app (app-compile stage) on the node_modules deps.sh
# installed: `run build` when package.json has a build script (Next.js, Vite, ...),
# then development dependencies are pruned.
set -eu
cd /opt/app
# npm installed production dependencies alone: no build script, nothing to prune.
if [ -e /opt/wake/node-production ]; then
    exit 0
fi
if [ -f yarn.lock ]; then manager=yarn
elif [ -f pnpm-lock.yaml ]; then manager=pnpm
else manager=npm
fi

if node -e 'process.exit((require("./package.json").scripts || {}).build ? 0 : 1)'; then
    echo "wake: $manager run build"
    "$manager" run build
fi

# Development dependencies served the build; release images get production ones.
case "$manager" in
    npm) npm prune --omit=dev ;;
    yarn) if grep -q '^__metadata:' yarn.lock; then
              yarn workspaces focus --all --production
          else
              yarn install --frozen-lockfile --production=true --non-interactive
          fi ;;
    pnpm) pnpm prune --prod ;;
esac
rm -rf /root/.npm /root/.cache /usr/local/share/.cache
