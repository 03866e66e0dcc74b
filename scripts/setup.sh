#!/usr/bin/env bash
# Set up a fresh machine: a virtualenv in .venv with torch 2.13.0 (CPU wheel) installed first,
# then the zoo with every extra, Chromium for the browser tests and the olah Hub mirror used by
# the Hub-endpoint test. Idempotent: rerunning only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip "setuptools>=77" wheel
# torch first and pinned: an unpinned torch (or a package asking for one) pulls a multi-GB CUDA build.
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[all,dev]" "torch==2.13.0"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium: browser tests will be skipped"
  else
    echo "note: install Debian's chromium (sudo apt-get install chromium) to run the browser tests"
  fi
fi
if [ -f scripts/install_olah.sh ]; then bash scripts/install_olah.sh; fi
echo "setup done: . .venv/bin/activate"
