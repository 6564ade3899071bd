#!/bin/sh
# Downloads a Go module's dependencies (app-deps stage) from go.mod and go.sum alone,
# into GOMODCACHE; go.sum verifies them.
set -eu
cd /opt/app
echo "wake: go mod download"
go mod download
