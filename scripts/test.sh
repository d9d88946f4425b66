#!/usr/bin/env bash
# One command for a fresh machine: set up, then run every test (TypeScript, conformance, Python).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm test
