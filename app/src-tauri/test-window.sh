#!/usr/bin/env bash
# test-window.sh — the real-window test of the OnePush app: builds the app and the
# relay, then runs the `window::` tests (tests/window.rs, a module of the app's one
# test binary `main`) under Xvfb, which starts the relay, WebKitWebDriver and the app,
# and drives the window. Called by the top-level scripts/test.
# The app seals its vault with the OS keystore: the test runs inside scripts/with-keyring.
# Installs the Debian packages the app and this test need when missing (apt-get as
# root, or through sudo); dunst is the notification server the test runs, so the app's
# notification is really shown. Screenshots and logs land in <target>/app-screenshots/.
#   --deps-only   install the packages and stop (a Tauri build needs them too)
# ONEPUSH_WORKSPACE_BUILT=1 (set by scripts/test, after its `cargo test --workspace
# --all-targets`): build and test with that same selection, so cargo finds everything
# built; `-p onepush-app` alone unifies dependency features differently and would build
# the app, the relay and much of their dependencies again (minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."

debs=(libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
      librsvg2-dev libayatana-appindicator3-dev build-essential pkg-config libssl-dev
      xvfb xauth webkit2gtk-driver dunst)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "${1:-}" = "--deps-only" ] && exit 0

locked=()
[ "${CI:-}" = "true" ] && locked=(--locked)

if [ "${ONEPUSH_WORKSPACE_BUILT:-}" = 1 ]; then
  build=(--workspace --all-targets) tests=(--workspace --test main)
else
  build=(-p onepush-app -p onepush-relay) tests=(-p onepush-app --test main)
fi
echo "==> building onepush-app and onepush-relay"
cargo build "${locked[@]}" "${build[@]}"

echo "==> the app in a real window (Xvfb + WebKitWebDriver), its vault key in a private"
echo "    Secret Service (scripts/with-keyring)"
# The ignored tests named window:: are the app's (the other crates' test binaries, in
# the workspace selection, run none).
scripts/with-keyring xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test "${locked[@]}" "${tests[@]}" -- --ignored --nocapture window::
