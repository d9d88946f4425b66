#!/usr/bin/env bash
# Sets up a fresh Debian machine for fccf: pnpm (pinned), the Python packages used by training/,
# and the workspace's npm dependencies. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
APT_PACKAGES=(python3-torch python3-onnx python3-numpy python3-scipy python3-pil python3-pytest python3-matplotlib python3-skimage)

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "fccf setup: installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${FCCF_SKIP_APT:-0}" != "1" ]; then
  echo "fccf setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "fccf setup: installing workspace dependencies"
pnpm install --frozen-lockfile
