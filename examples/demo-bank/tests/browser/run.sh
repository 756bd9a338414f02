#!/usr/bin/env bash
# Browser tests of the demo bank: builds the binaries, installs Debian's chromium
# and playwright-core when missing (never a downloaded browser), runs node's test
# runner. Screenshots: target/demo-bank-screenshots/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)

if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk
fi
command -v node >/dev/null || { echo "error: node is needed for the browser tests" >&2; exit 1; }

# ONEPUSH_WORKSPACE_BUILT=1 (scripts/test, after `cargo test --workspace --all-targets`):
# the same selection finds everything built, where these three packages alone would
# unify dependency features differently and be built again.
build=(-p onepush-relay -p onepush-demo-bank -p onepush-device --bins)
[ "${ONEPUSH_WORKSPACE_BUILT:-}" = 1 ] && build=(--workspace --all-targets)
(cd "$root" && cargo build -q "${build[@]}")

cd "$here"
# npm ci when any package of package.json is missing (a checkout that added one).
if ! node -e 'const p=require("./package.json");for(const d of Object.keys(p.devDependencies))require.resolve(d+"/package.json")' 2>/dev/null; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
# Three files at a time: each starts its own relay, bank and browser, and most of their
# time is waiting for the next TOTP step (the resync test alone waits over a minute).
exec node --test --test-concurrency=3 demo-bank.test.mjs kinds.test.mjs admin-staff.test.mjs otp-login.test.mjs maintenance.test.mjs offline.test.mjs
