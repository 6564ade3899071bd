#!/bin/sh
# Installs a Node.js app's dependencies in /opt/app/node_modules (app-deps stage), from
# package.json and its lock file alone. The lock file decides the package manager:
# package-lock.json / npm-shrinkwrap.json (npm ci), yarn.lock (Yarn, frozen),
# pnpm-lock.yaml (pnpm, frozen); without one, npm install.
set -eu
cd /opt/app
# npm's cache: kept between builds when wake mounts it from a volume (platform.toml
# [deps] caches), so a changed lock file downloads only what is new; else removed at the
# end, with the other package managers' caches.
case " ${WAKE_BUILD_CACHES:-} " in *" /root/.npm "*) kept=/root/.npm ;; *) kept= ;; esac
# Each install runs again with the build tools (a native module's node-gyp, a git
# dependency) only if it fails without them.
native=/opt/wake/native

# Development dependencies serve package.json's build script alone (build.sh prunes
# them after it), so npm leaves them out when there is none: every source edit then
# skips a build step and npm prune (about a second of node start-ups). The marker
# tells build.sh (Yarn and pnpm always install them and always prune).
if node -e 'process.exit((require("./package.json").scripts || {}).build ? 0 : 1)'; then
    dev=include
else
    dev=omit
fi

if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
    echo "wake: npm ci --$dev=dev"
    $native "npm ci" npm ci "--$dev=dev"
    [ "$dev" = include ] || touch /opt/wake/node-production
elif [ -f yarn.lock ]; then
    if grep -q '^__metadata:' yarn.lock; then
        # Yarn 2+ (berry), from the npm registry (its own download site may be closed).
        echo "wake: yarn install --immutable (Yarn berry)"
        npm install -g --no-audit @yarnpkg/cli-dist@4 >/dev/null
        $native "yarn install" yarn install --immutable
    else
        echo "wake: yarn install --frozen-lockfile (Yarn 1)"
        npm install -g --no-audit yarn@1 >/dev/null
        $native "yarn install" yarn install --frozen-lockfile --production=false \
            --non-interactive
    fi
elif [ -f pnpm-lock.yaml ]; then
    # The lock file's format says which pnpm wrote it: 9.0 -> pnpm 9, 6.x -> pnpm 8.
    major=$(sed -n "s/^lockfileVersion: *'\{0,1\}\([0-9]*\).*/\1/p" pnpm-lock.yaml)
    pnpm=$([ "${major:-9}" -ge 9 ] && echo 9 || echo 8)
    echo "wake: pnpm install --frozen-lockfile (pnpm $pnpm)"
    npm install -g --no-audit "pnpm@$pnpm" >/dev/null
    $native "pnpm install" pnpm install --frozen-lockfile --prod=false
else
    echo "wake: npm install --$dev=dev (no lock file: versions are resolved now)"
    $native "npm install" npm install "--$dev=dev"
    [ "$dev" = include ] || touch /opt/wake/node-production
fi
for cache in /root/.npm /root/.cache /usr/local/share/.cache; do
    [ "$cache" = "$kept" ] || rm -rf "$cache"
done
