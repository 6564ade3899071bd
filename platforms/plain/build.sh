#!/bin/sh
# Plain apps have nothing to compile: make scripts under bin/ executable and list them.
set -eu
cd /opt/app
if [ -d bin ]; then
    chmod 0755 bin/*
    ls -l bin
fi
