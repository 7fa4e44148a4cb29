#!/usr/bin/env bash
# Builds the static site: dist/ = www/ + pkg/ (the wasm module and its JS glue) + the bundle.
# Serve dist/ with any static server; nothing else is fetched at run time.
#   MOVIE_GENIE_PROFILE  cargo profile (default release: LTO, ~47 min cold on 2 cores;
#                        wasm-dev builds in minutes, for trying the page)
#   WASM_OPT_LEVEL       wasm-opt level (default -O3; -Oz is smaller and slower)
#   CARGO_TARGET_DIR     default $HOME/.cache/movie-genie/target
set -euo pipefail
cd "$(dirname "$0")"
source scripts/tools.sh

started=$(date +%s)
profile="${MOVIE_GENIE_PROFILE:-release}"
opt_level="${WASM_OPT_LEVEL:--O3}"

ensure_wasm_target
ensure_wasm_bindgen
ensure_wasm_opt

RUSTFLAGS="$WASM_RUSTFLAGS" cargo build --lib --target wasm32-unknown-unknown --profile "$profile"
case "$profile" in
    dev) profile_dir=debug ;;
    *) profile_dir="$profile" ;;
esac
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile_dir/movie_genie.wasm"

rm -rf pkg
wasm-bindgen --target web --out-dir pkg "$wasm"
# The features rustc enables for wasm32 by default, plus simd128 (WASM_RUSTFLAGS).
wasm-opt "$opt_level" \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    pkg/movie_genie_bg.wasm -o pkg/movie_genie_bg.opt.wasm
mv pkg/movie_genie_bg.opt.wasm pkg/movie_genie_bg.wasm

rm -rf dist
mkdir -p dist
cp -R www/. dist/
cp -R pkg dist/pkg
if [ ! -f dist/assets/movie-genie.bundle ]; then
    echo "build.sh: warning: www/assets/movie-genie.bundle is absent (run the exporter): the page has no model" >&2
fi

size() { wc -c < "$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
echo "build.sh: profile $profile, wasm-opt $opt_level"
echo "build.sh: wasm $(size pkg/movie_genie_bg.wasm) bytes raw, $(gz pkg/movie_genie_bg.wasm) gzip; glue $(size pkg/movie_genie.js) bytes"
echo "build.sh: dist/ ready in $(( $(date +%s) - started )) s"
