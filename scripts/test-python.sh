#!/usr/bin/env bash
# Runs the training unit tests with Debian's PyTorch (see training/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d training/tests ]; then echo "no training tests"; exit 1; fi
exec /usr/bin/python3 -m pytest -q training/tests
