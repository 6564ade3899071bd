#!/bin/sh
# Builds a Node.js app in /opt/app (app-compile stage). The lock file decides the
# package manager: package-lock.json / npm-shrinkwrap.json (npm ci), yarn.lock
# (Yarn, frozen), pnpm-lock.yaml (pnpm, frozen); without one, npm install.
set -eu
cd /opt/app

has_script() {  # has_script NAME: does package.json define that script?
    node -e 'process.exit((require("./package.json").scripts || {})[process.argv[1]] ? 0 : 1)' "$1"
}

if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
    echo "wake: npm ci"
    npm ci --include=dev
    manager=npm
elif [ -f yarn.lock ]; then
    if grep -q '^__metadata:' yarn.lock; then
        # Yarn 2+ (berry), from the npm registry (its own download site may be closed).
        echo "wake: yarn install --immutable (Yarn berry)"
        npm install -g --no-audit @yarnpkg/cli-dist@4 >/dev/null
        yarn install --immutable
    else
        echo "wake: yarn install --frozen-lockfile (Yarn 1)"
        npm install -g --no-audit yarn@1 >/dev/null
        yarn install --frozen-lockfile --production=false --non-interactive
    fi
    manager=yarn
elif [ -f pnpm-lock.yaml ]; then
    # The lock file's format says which pnpm wrote it: 9.0 -> pnpm 9, 6.x -> pnpm 8.
    major=$(sed -n "s/^lockfileVersion: *'\{0,1\}\([0-9]*\).*/\1/p" pnpm-lock.yaml)
    pnpm=$([ "${major:-9}" -ge 9 ] && echo 9 || echo 8)
    echo "wake: pnpm install --frozen-lockfile (pnpm $pnpm)"
    npm install -g --no-audit "pnpm@$pnpm" >/dev/null
    pnpm install --frozen-lockfile --prod=false
    manager=pnpm
else
    echo "wake: npm install (no lock file: versions are resolved now)"
    npm install --include=dev
    manager=npm
fi

if has_script build; then
    echo "wake: $manager run build"
    "$manager" run build
fi

# Development dependencies served the build; release images get production ones.
case "$manager" in
    npm) npm prune --omit=dev ;;
    yarn) if grep -q '^__metadata:' yarn.lock; then
              yarn workspaces focus --all --production 2>/dev/null || true
          else
              yarn install --frozen-lockfile --production=true --non-interactive
          fi ;;
    pnpm) pnpm prune --prod ;;
esac
rm -rf /root/.npm /root/.cache /usr/local/share/.cache
