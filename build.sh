#!/usr/bin/env bash
# Builds the static site: dist/ = www/ + pkg/ (the wasm modules, CPU-only and WebGPU, and their
# JS glue) + the bundle, then makes it one build: manifest.json and the build id in sw.js
# (scripts/stamp-build.sh).
# Serve dist/ with any static server; nothing else is fetched at run time.
#   ./build.sh          both modules
#   ./build.sh cpu      dist/ with the CPU module only: every visitor starts on it, so the page
#                       works; WebGPU is then reported unavailable
#   ./build.sh webgpu   adds the WebGPU module to the dist/ `./build.sh cpu` made (run.sh serves
#                       in between)
#   MOVIE_GENIE_PROFILE  cargo profile (default release: what ships, with LTO and wasm-opt, the
#                        slowest to build; the CPU module then uses release-cpu and the
#                        WebGPU module release-webgpu, each sized for its download; wasm-dev
#                        shares the browser tests' incremental build, for trying the page)
#   MOVIE_GENIE_BENCH=1  the benchmark build perf/run.sh makes: both modules also carry the
#                        benchmark page's API (`bench` feature, src/web/bench.rs), which `?bench`
#                        needs. Never what ships; test builds always have it.
#   WASM_OPT_LEVEL       wasm-opt level of the shipped CPU module (default -O3: speed over size)
#   WASM_OPT_LEVEL_WEBGPU  the same for the shipped WebGPU module (default -Oz: size; it runs
#                        only where calibration measures it faster). Other profiles skip wasm-opt.
#   CARGO_TARGET_DIR     default $HOME/.cache/movie-genie/target
set -euo pipefail
cd "$(dirname "$0")"
source scripts/tools.sh

# One build at a time per checkout: two runs would race on pkg/ and dist/.
exec 9>.build.lock
if ! flock -n 9; then
    echo "build.sh: another build.sh is running in this checkout; waiting for it" >&2
    flock 9
fi

started=$(date +%s)
case "${1:-all}" in
    all) flavours=(cpu webgpu) ;;
    cpu | webgpu) flavours=("$1") ;;
    *)
        echo "build.sh: expected no argument, cpu or webgpu; got '$1'" >&2
        exit 2
        ;;
esac
profile="${MOVIE_GENIE_PROFILE:-release}"
opt_level="${WASM_OPT_LEVEL:--O3}"
opt_level_webgpu="${WASM_OPT_LEVEL_WEBGPU:--Oz}"
webgpu_release_profile=release-webgpu
cpu_release_profile=release-cpu
bench=()
if [ "${MOVIE_GENIE_BENCH:-0}" = 1 ]; then bench=(--features bench); fi

ensure_wasm_target
ensure_wasm_bindgen
if [ "$profile" = release ]; then ensure_wasm_opt; fi

# One module per flavour under pkg/<flavour>/: `cpu` (burn-flex only) and `webgpu` (burn-wgpu
# too). Every visitor starts on the CPU one; engine.js fetches the WebGPU one only where a
# hardware adapter exists, to measure it against the CPU.
#   build_flavour FLAVOUR CARGO_PROFILE WASM_OPT_LEVEL [cargo options…] (the level: release only)
build_flavour() {
    local flavour="$1" cargo_profile="$2" level="$3"
    shift 3
    local profile_dir="$cargo_profile"
    if [ "$cargo_profile" = dev ]; then profile_dir=debug; fi
    RUSTFLAGS="$WASM_RUSTFLAGS" cargo build --lib --target wasm32-unknown-unknown --profile "$cargo_profile" "$@"
    wasm-bindgen --target web --out-dir "pkg/$flavour" \
        "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile_dir/movie_genie.wasm"
    # Shipped builds only: on a test build wasm-opt costs minutes and changes nothing tested.
    if [ "$profile" != release ]; then
        return 0
    fi
    # The features rustc enables for wasm32 by default, plus simd128 (WASM_RUSTFLAGS).
    wasm-opt "$level" \
        --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "pkg/$flavour/movie_genie_bg.wasm" -o "pkg/$flavour/movie_genie_bg.opt.wasm"
    mv "pkg/$flavour/movie_genie_bg.opt.wasm" "pkg/$flavour/movie_genie_bg.wasm"
}
# Shipped builds: the CPU module has only the CPU engine and the WebGPU module only WebGPU (the
# page keeps the CPU module for the CPU). Test builds make one module with both engines, the
# build scripts/test-web.sh compiles, bind it once and serve it as both flavours: no dependency
# compiled twice.
test_module=""
for flavour in "${flavours[@]}"; do
    rm -rf "pkg/$flavour"
    if [ "$profile" = release ]; then
        if [ "$flavour" = webgpu ]; then
            build_flavour webgpu "$webgpu_release_profile" "$opt_level_webgpu" \
                --no-default-features --features webgpu,console_error_panic_hook "${bench[@]}"
        else
            build_flavour cpu "$cpu_release_profile" "$opt_level" "${bench[@]}"
        fi
    elif [ -n "$test_module" ]; then
        cp -R "pkg/$test_module" "pkg/$flavour"
    else
        build_flavour "$flavour" "$profile" "" --features "$(wasm_test_features)"
        test_module="$flavour"
    fi
done

if [ "${flavours[0]}" = cpu ]; then
    rm -rf dist
    mkdir -p dist/pkg
    cp -R www/. dist/
elif [ ! -d dist/pkg/cpu ]; then
    echo "build.sh: dist/ has no CPU module to add the WebGPU one to: run ./build.sh (or ./build.sh cpu) first" >&2
    exit 1
fi
# Each module replaces its folder in one rename, so a server running meanwhile never serves half.
for flavour in "${flavours[@]}"; do
    rm -rf "dist/pkg/$flavour.new"
    cp -R "pkg/$flavour" "dist/pkg/$flavour.new"
    rm -rf "dist/pkg/$flavour"
    mv "dist/pkg/$flavour.new" "dist/pkg/$flavour"
done
if [ -d dist/pkg/webgpu ]; then
    # The WebGPU module's identity, for the engine verdict remembered per adapter (engine.js).
    webgpu_version="$(sha256sum dist/pkg/webgpu/movie_genie_bg.wasm | cut -c1-16)"
    sed -i "s/^const WEBGPU_MODULE_VERSION = '[^']*';/const WEBGPU_MODULE_VERSION = '$webgpu_version';/" dist/engine.js
    grep -q "WEBGPU_MODULE_VERSION = '$webgpu_version'" dist/engine.js
fi
if [ ! -f dist/assets/movie-genie.bundle ]; then
    echo "build.sh: warning: www/assets/movie-genie.bundle is absent (run the exporter): the page has no model" >&2
fi
# Last, once every file is in place: the manifest of dist/ and the service worker's build id.
scripts/stamp-build.sh dist

size() { wc -c < "$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
echo "build.sh: profile $profile$([ "$profile" = release ] && echo " (CPU: $cpu_release_profile, WebGPU: $webgpu_release_profile), wasm-opt $opt_level (WebGPU: $opt_level_webgpu)")${bench:+, benchmark build}"
for flavour in "${flavours[@]}"; do
    m="pkg/$flavour/movie_genie_bg.wasm"
    echo "build.sh: $flavour wasm $(size "$m") bytes raw, $(gz "$m") gzip; glue $(size "pkg/$flavour/movie_genie.js") bytes"
done
echo "build.sh: dist/ ready in $(( $(date +%s) - started )) s"
