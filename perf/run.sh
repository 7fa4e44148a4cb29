#!/usr/bin/env bash
# Every benchmark in one command; writes perf/RESULTS.md. Figures are printed and reported,
# never judged by a test. Parts, each skippable with BENCH_SKIP=native,browser,baseline,torch:
#   native   cargo bench: ranking (9.7k/100k/1M rows, int8 and PQ beside f32 + sort),
#            personalisation (5/10/20 ratings beside prior-only scoring), one training epoch on
#            one thread and on every core (needs `movie-genie prepare`'s data/processed; run
#            first if missing), where that epoch's time goes (Linux `perf`, when the machine
#            has it), and training cost as data grows: one epoch on seeded MovieLens-shaped
#            data of each size in BENCH_SCALES (default "100k 1m 10m"; BENCH_SCALES="100k 1m"
#            skips the 10M size, ~20 min here; benches/train_scale.rs)
#   browser  build.sh (release unless MOVIE_GENIE_PROFILE says otherwise): the shipped build,
#            whose payload perf/payload.mjs records, then the benchmark build
#            (MOVIE_GENIE_BENCH=1) for perf/browser.mjs in Debian's Chromium: cold page, rate →
#            top-20 on the shipped and a 100k catalog, wasm ranking beside a JS Float32Array
#            loop; CPU and WebGPU (SwiftShader without a GPU)
#   baseline only with BENCH_BASELINE=<commit> (e.g. a2eb917, the last burn-ndarray build):
#            perf/baseline.sh, that commit's build beside this one: `movie-genie train` of both
#            at a fixed epoch count, back to back, and the baseline's shipped CPU site by payload
#            and perf/browser.mjs (CPU). ~9 min here once built (the two trainings 1–2.5 min
#            each, the baseline's build.sh ~2 min of binding and wasm-opt, the CPU browser run
#            ~3 min), plus ~8 min when this build's native release binary needs relinking; the
#            baseline's first build, in a target dir of its own, takes ~40 min (native release
#            ~30, the CPU wasm module ~7). BENCH_SKIP=native,browser,torch checks it alone; the
#            report then marks this build's browser figures as from an earlier run.
#   torch    perf/setup-torch.sh (a venv with PyTorch from PyPI, ~3 GB once), then
#            perf/torch_epoch.py with 1 thread and with every core
# The report also carries metrics/evaluation.md (`movie-genie evaluate`).
# Takes ~25 min here once built, plus the 10M epoch (SwiftShader updates dominate the rest:
# BENCH_GPU_UPDATES=10 shortens them), plus ~9 min relinking the release modules twice: the
# shipped and the benchmark build differ only in the `bench` feature, so each rebuilds the
# crate and its LTO link.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
out=perf/out
mkdir -p "$out"
skip() { [[ ",${BENCH_SKIP:-}," == *",$1,"* ]]; }

{
    echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores available"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; os: $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r)"
    gpu="$(lspci 2>/dev/null | grep -iE 'vga|3d|display' | head -1 | cut -d: -f3- || true)"
    echo "gpu: ${gpu:-none listed by lspci (WebGPU in Chromium is then SwiftShader, on the CPU)}"
    echo "rustc: $(rustc --version); node: $(node --version); chromium: $(/usr/bin/chromium --version 2>/dev/null || echo none)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
cat "$out/machine.txt"

if ! skip native; then
    if [ ! -f data/processed/feature_layout.json ]; then
        cargo run --bin movie-genie -- prepare
    fi
    rm -rf "$CARGO_TARGET_DIR/criterion"
    cargo bench --bench rank --bench personalize -- --noplot 2>&1 | tee "$out/cargo-bench.log"
    # The epoch on one thread and on every core, each beside PyTorch on as many.
    for threads in 1 "$(nproc)"; do
        RAYON_NUM_THREADS=$threads cargo bench --bench train -- --noplot 2>&1 | tee -a "$out/cargo-bench.log"
    done
    # Where an epoch goes: perf's self time per symbol over 15 s of the train bench, if perf runs.
    rm -f "$out/train-profile.txt"
    train_bin="$(cargo bench --bench train --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p')"
    if command -v perf >/dev/null && [ -n "$train_bin" ] &&
        perf record -F 299 -o "$out/train.perf" "$train_bin" --bench train --profile-time 15 >/dev/null 2>&1; then
        # Whole report to a file first: `head` closing the pipe early would fail pipefail.
        perf report -i "$out/train.perf" --no-children --sort dso,sym > "$out/train-perf.txt" 2>/dev/null
        grep -v -e '^#' -e '^$' "$out/train-perf.txt" | cut -c1-150 | sed -n 1,15p > "$out/train-profile.txt"
    fi
    # One process per size, so each peak resident memory is that size's alone.
    rm -f "$out"/train-scale-*.json
    for scale in ${BENCH_SCALES:-100k 1m 10m}; do
        MOVIE_GENIE_SCALE="$scale" cargo bench --bench train_scale > "$out/train-scale-$scale.json"
        cat "$out/train-scale-$scale.json"
    done
fi

if ! skip browser; then
    ensure_chromium
    npm ci --no-audit --no-fund
    MOVIE_GENIE_BENCH=0 ./build.sh
    node perf/payload.mjs dist "$out/payload.json"
    MOVIE_GENIE_BENCH=1 ./build.sh
    node perf/browser.mjs "$out/browser.json"
fi

# Without it the report leaves the section out, rather than compare with an earlier run's.
if [ -n "${BENCH_BASELINE:-}" ] && ! skip baseline; then
    perf/baseline.sh "$BENCH_BASELINE" "$out"
else
    rm -f "$out/baseline.json"
fi

if ! skip torch; then
    venv="${TORCH_VENV:-$HOME/.cache/movie-genie/torchvenv}"
    perf/setup-torch.sh "$venv"
    for threads in 1 "$(nproc)"; do
        name=$([ "$threads" = 1 ] && echo torch-1 || echo torch-all)
        "$venv/bin/python" perf/torch_epoch.py --threads "$threads" --json "$out/$name.json"
    done
fi

node perf/report.mjs "$out" "$CARGO_TARGET_DIR/criterion"
