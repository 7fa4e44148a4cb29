#!/usr/bin/env bash
# The main job: runs the pipeline on ../shared/data (or $MOVIE_GENIE_DATA).
# Each stage skips itself when its inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"

cargo run --bin movie-genie -- prepare "$@"
