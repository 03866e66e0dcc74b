#!/usr/bin/env bash
# Create .olah-venv in the repo root with olah (a self-hosted Hugging Face Hub mirror) in it.
# tests/test_hub_endpoint.py uses its olah-cli to serve a local git repo as a real Hub
# endpoint on loopback. olah gets a venv of its own because it pins psutil==5.9.8, which
# must not constrain the project's environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OLAH_VENV:-$root/.olah-venv}"
python="${PYTHON:-python3}"
if [ -x "$venv/bin/olah-cli" ]; then
    echo "olah already installed: $venv/bin/olah-cli"
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "olah==0.5.4"
echo "installed $venv/bin/olah-cli"
