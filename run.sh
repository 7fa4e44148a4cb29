#!/usr/bin/env bash
# The main job: builds the site on the shipped model (www/assets/movie-genie.bundle) into dist/
# and serves it on http://127.0.0.1:${PORT:-8080}/. build.sh installs its own tools.
# To retrain the model from ../shared/data first, run ./pipeline.sh.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"

./build.sh
# A static server of its own (serve/): it does not wait for the ML stack to compile natively.
cargo run -p movie-genie-serve -- --dir dist --port "${PORT:-8080}"
