#!/usr/bin/env bash
# Runs every test of Movie Genie on a fresh machine: installs what the tests need, then
# the native unit and integration tests, then checks that the library builds for wasm32.
set -euo pipefail
cd "$(dirname "$0")"

# Keep build outputs between runs (and CI runs) outside the clone; a cold machine still works.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

echo "== native tests"
cargo test --all-targets --no-fail-fast

echo "== wasm32 build of the library"
cargo build --lib --target wasm32-unknown-unknown
