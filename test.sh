#!/usr/bin/env bash
# Runs every test of Movie Genie on a fresh machine; each step installs what it needs.
#   1. native unit and integration tests (cargo test, profile `ci`);
#   2. the wasm runtime in headless Chromium, WebGPU (SwiftShader) and CPU (scripts/test-web.sh),
#      which also proves the library builds for wasm32;
#   3. the page end to end in Chromium driven by playwright-core (scripts/test-e2e.sh), on the
#      site build.sh assembles from the browser tests' build.
# The browser tests' tools and wasm build compile beside the native build: alone, each leaves a
# core idle for long stretches (a crate that others wait on, a link).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/tools.sh

# Build outputs stay between runs (and CI runs) in $CARGO_TARGET_DIR, outside the clone (tools.sh).
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Each step's wall time, printed at the end (CI allows 90 min for a cold run).
times=()
step() {
    local name="$1" started status=0
    shift
    echo "== $name"
    started=$(date +%s)
    "$@" || status=$?
    times+=("$(printf '%5d s  %s' "$(( $(date +%s) - started ))" "$name")$([ "$status" = 0 ] || echo " (failed: status $status)")")
    return "$status"
}

wasm_log="$(mktemp)"
scripts/test-web.sh --no-run > "$wasm_log" 2>&1 &
wasm_build=$!
finish() {
    kill "$wasm_build" 2>/dev/null || true
    rm -f "$wasm_log"
    echo "== time per step"
    printf '%s\n' "${times[@]}"
}
trap finish EXIT

# The background build's output, once it ends; its status is the step's.
wasm_build_done() {
    local status=0
    wait "$wasm_build" || status=$?
    cat "$wasm_log"
    return "$status"
}

step "native tests" cargo test --profile "$NATIVE_TEST_PROFILE" --workspace --all-targets --no-fail-fast
step "wasm tools and browser-test build (begun with the native tests)" wasm_build_done
step "browser tests of the wasm runtime" scripts/test-web.sh
step "end-to-end tests of the page" scripts/test-e2e.sh
