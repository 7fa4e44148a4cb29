#!/usr/bin/env bash
# Runs every test of Movie Genie on a fresh machine; each step installs what it needs.
#   1. native unit and integration tests (cargo test);
#   2. the wasm runtime in headless Chromium, WebGPU (SwiftShader) and CPU (scripts/test-web.sh),
#      which also proves the library builds for wasm32;
#   3. the page end to end in Chromium driven by playwright-core (scripts/test-e2e.sh), on the
#      site build.sh assembles (quick wasm-dev profile).
set -euo pipefail
cd "$(dirname "$0")"

# Keep build outputs between runs (and CI runs) outside the clone; a cold machine still works.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Each step's wall time, printed at the end (CI allows 90 min for a cold run).
times=()
step() {
    local name="$1" started
    shift
    echo "== $name"
    started=$(date +%s)
    "$@"
    times+=("$(printf '%5d s  %s' "$(( $(date +%s) - started ))" "$name")")
}
report() {
    echo "== time per step"
    printf '%s\n' "${times[@]}"
}
trap report EXIT

step "native tests" cargo test --workspace --all-targets --no-fail-fast
step "browser tests of the wasm runtime" scripts/test-web.sh
step "end-to-end tests of the page" scripts/test-e2e.sh
