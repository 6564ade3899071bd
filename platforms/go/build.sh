#!/bin/sh
# Builds every main package of a Go module into /opt/app/bin (app-compile stage), with
# the modules deps.sh downloaded.
set -eu
cd /opt/app
mkdir -p bin
# -v names each package compiled: with the build cache kept between builds (a volume at
# $GOCACHE, listed in WAKE_BUILD_CACHES), a source edit compiles the app's own alone.
echo "wake: go build -v ./..."
go build -v -o bin/ ./...
case " ${WAKE_BUILD_CACHES:-} " in
    *" $GOCACHE "*) ;;           # a volume: kept for the next build, never in an image
    *) rm -rf "$GOCACHE" ;;      # in this image's layer: gone
esac
ls -l bin
