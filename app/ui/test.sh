#!/usr/bin/env bash
# test.sh — runs the app UI's browser tests (headless Debian Chromium through
# playwright-core, mocked Tauri backend). Called by the top-level scripts/test.
# Installs what is missing: chromium and Japanese fonts (Debian, via apt-get
# as root or sudo), then node_modules (npm ci from package-lock.json). Never
# downloads a browser through npm. Screenshots land in <repo>/target/ui-screenshots/.
set -euo pipefail
cd "$(dirname "$0")"

debs=()
[ -x /usr/bin/chromium ] || debs+=(chromium)
# Without a CJK font the Japanese screenshots show boxes (the tests pass either way).
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || debs+=(fonts-noto-cjk)
if ((${#debs[@]})); then
  echo "==> installing Debian packages: ${debs[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${debs[@]}"
fi

command -v node >/dev/null || { echo "error: node (>= 20) not found" >&2; exit 1; }
if [ ! -d node_modules/playwright-core ]; then
  echo "==> npm ci (app/ui)"
  npm ci --no-audit --no-fund
fi

echo "==> app UI browser tests"
npm test
