#!/bin/sh
# Builds every main package of a Go module into /opt/app/bin (app-compile stage), with
# the modules deps.sh downloaded.
set -eu
cd /opt/app
mkdir -p bin
echo "wake: go build ./..."
go build -o bin/ ./...
rm -rf /tmp/go-cache
ls -l bin
