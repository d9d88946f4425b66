#!/usr/bin/env bash
# One command for a fresh machine: set up, then run fccf's main job on the embedded default:
# fuse the VI-IR sample pair (samples/VI-IR) with the shipped model (models/) into fused.png.
set -euo pipefail
cd "$(dirname "$0")/.."
FCCF_SKIP_APT=1 bash scripts/setup.sh
pnpm --silent fccf fuse --output fused.png --mask fused-mask.png "$@"
