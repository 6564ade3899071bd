#!/bin/sh
# Builds a Python app into a virtual environment at /opt/app/.venv (app-compile stage).
set -eu
cd /opt/app
python3 -m venv /opt/app/.venv
pip=/opt/app/.venv/bin/pip
if [ -f requirements.txt ]; then
    echo "wake: pip install -r requirements.txt"
    "$pip" install --no-cache-dir -r requirements.txt
elif [ -f pyproject.toml ] || [ -f setup.py ]; then
    echo "wake: pip install ."
    "$pip" install --no-cache-dir .
elif [ -f Pipfile ]; then
    echo "wake: installing from Pipfile"
    python3 -m venv /tmp/pipenv && /tmp/pipenv/bin/pip install --no-cache-dir -q pipenv
    /tmp/pipenv/bin/pipenv requirements > /tmp/requirements.txt
    "$pip" install --no-cache-dir -r /tmp/requirements.txt
    rm -rf /tmp/pipenv
else
    echo "wake: no requirements; the venv has the standard library only"
fi
