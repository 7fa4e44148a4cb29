#!/usr/bin/env bash
# The main job: builds the site on the shipped model (www/assets/movie-genie.bundle) into dist/
# and serves it on http://127.0.0.1:${PORT:-8080}/. build.sh installs its own tools.
# To retrain the model from ../shared/data first, run ./pipeline.sh.
#
# Every visitor starts on the CPU module, so serving starts as soon as it is built; the WebGPU
# module (for browsers with a hardware adapter, the longer build) is added to dist/ while the
# site is served. Until then the page runs on the CPU and says WebGPU is unavailable.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"
# What ships: never the benchmark build (build.sh).
unset MOVIE_GENIE_BENCH
port="${PORT:-8080}"

./build.sh cpu
# A static server of its own (serve/): it does not wait for the ML stack to compile natively.
# Built first and started from its binary, so it never waits on the build lock the WebGPU
# build holds.
cargo build -p movie-genie-serve
"$CARGO_TARGET_DIR/debug/movie-genie-serve" --dir dist --port "$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
if ! ./build.sh webgpu; then
    echo "run.sh: the WebGPU module did not build; serving the CPU module only" >&2
fi
echo "run.sh: serving http://127.0.0.1:$port/ (Ctrl-C stops it)"
wait "$server"
