#!/usr/bin/env bash
# Retrains the shipped model from ../shared/data (or $MOVIE_GENIE_DATA): prepare → train →
# evaluate → export → search-data (and its table). prepare skips itself when nothing changed.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"

cargo build --bin movie-genie
bin="$CARGO_TARGET_DIR/debug/movie-genie"
"$bin" prepare
"$bin" train
"$bin" evaluate
"$bin" export
"$bin" search-data
"$bin" evaluate --search
