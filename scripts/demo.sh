#!/usr/bin/env bash
# One command for a fresh machine: set up, then run fccf's main job on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
FCCF_SKIP_APT=1 bash scripts/setup.sh
pnpm --silent fccf sample --sampler dpmsolver++ --steps 20
