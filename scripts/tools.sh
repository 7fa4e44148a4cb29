# Sourced by test.sh, build.sh and scripts/test-*.sh (from the repository root): installs, only
# when missing, what the wasm build and the browser tests need, and sets the shared paths.
# Everything comes from crates.io, npm and Debian's packages, so a fresh machine can run it.

# Cargo's outputs and the npm tools live outside the work tree (shared between checkouts).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/movie-genie/target}"
MOVIE_GENIE_TOOLS="${MOVIE_GENIE_TOOLS:-$HOME/.cache/movie-genie/tools}"
# `cargo install` puts wasm-bindgen-cli in $CARGO_HOME/bin.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$MOVIE_GENIE_TOOLS/node_modules/.bin:$PATH"

# wasm SIMD for rank.rs's integer dot product; every browser with WebGPU has it. Builds and
# tests use the same flags so they share compiled dependencies.
WASM_RUSTFLAGS='-C target-feature=+simd128'

# The cargo profile of ./test.sh's native build (Cargo.toml: dependencies at opt-level 1).
NATIVE_TEST_PROFILE=ci

# The features of the browser tests' wasm build, which build.sh's test builds reuse: both engines,
# `bench` (tests/web.rs builds its bundles with the fixtures; the site gets `?bench` too), plus
# the checks of the trained bundle where the exporter has written it.
wasm_test_features() {
    if [ -f www/assets/movie-genie.bundle ]; then echo webgpu,bench,real-bundle; else echo webgpu,bench; fi
}

# binaryen from npm: Debian's wasm-opt is too old for this module and emits broken wasm.
BINARYEN_VERSION=132.0.0

# The version Cargo.lock pins for crate $1.
locked_version() {
    awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_target() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
}

# wasm-bindgen (and wasm-bindgen-test-runner) must match the locked wasm-bindgen exactly.
ensure_wasm_bindgen() {
    local want have
    want="$(locked_version wasm-bindgen)"
    if [ -z "$want" ]; then
        echo "tools.sh: Cargo.lock has no wasm-bindgen" >&2
        return 1
    fi
    have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
    if [ "$have" = "$want" ] && command -v wasm-bindgen-test-runner >/dev/null; then
        return 0
    fi
    echo "tools.sh: installing wasm-bindgen-cli $want (have '${have:-none}'; ~4 min on 2 cores)" >&2
    # Its own temporary target dir: building it must not hold the project's build lock.
    # Optimised (opt-level 1) only where binding spends its time, reading, rewriting and writing
    # the module; the rest (its CLI, test server, HTTP and TLS stack) compiles unoptimised.
    local crate optimised=()
    for crate in walrus wasmparser wasm-encoder wasm-bindgen-cli-support wasm-bindgen-cli; do
        optimised+=(--config "profile.release.package.$crate.opt-level=1")
    done
    env -u CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
        cargo install wasm-bindgen-cli --version "$want" --force "${optimised[@]}"
}

ensure_wasm_opt() {
    if "$MOVIE_GENIE_TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
        return 0
    fi
    mkdir -p "$MOVIE_GENIE_TOOLS"
    npm install --prefix "$MOVIE_GENIE_TOOLS" --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
}

ensure_chromium() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium chromium-driver
}
