#!/usr/bin/env bash
# Browser tests (tests/web.rs) in headless Chromium through wasm-bindgen-test-runner and
# chromedriver. WebGPU there is SwiftShader (adapter google/swiftshader), which Chromium offers
# only with --enable-unsafe-webgpu (webdriver.json): correct but slow, so the timeout is generous.
# Extra arguments go to the runner (the default, --nocapture, prints the MEASURE lines);
# `--no-run` only builds (test.sh builds beside the native tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium

# One module with both engines (WebGPU, and the CPU it falls back to): the build that build.sh's
# test profiles also serve to the e2e tests as both flavours.
if [ ! -f www/assets/movie-genie.bundle ]; then
    echo "test-web.sh: www/assets/movie-genie.bundle is absent: testing the synthetic bundle only"
fi
build=(--target wasm32-unknown-unknown --profile wasm-dev --test web --features "$(wasm_test_features)")
export RUSTFLAGS="$WASM_RUSTFLAGS"
if [ "${1:-}" = --no-run ]; then
    exec cargo test --no-run "${build[@]}"
fi

# webdriver.json points Chromium at this profile: start each run from an empty one.
rm -rf /tmp/movie-genie-chromium-profile
mkdir -p /tmp/movie-genie-chromium-profile

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-1800}"
if [ "$#" -eq 0 ]; then set -- --nocapture; fi
cargo test "${build[@]}" -- "$@"
