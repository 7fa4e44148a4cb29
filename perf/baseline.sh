#!/usr/bin/env bash
# perf/run.sh's baseline part: another commit's build measured in the same run as the current
# one, so that each figure perf/report.mjs compares has its peer from the same machine and load.
#   perf/baseline.sh COMMIT OUT_DIR
# Writes to OUT_DIR:
#   baseline.json                 the commit measured (as given, its hash and subject)
#   train-fixed-current.json      `movie-genie train` of each build for BENCH_TRAIN_EPOCHS (6)
#   train-fixed-baseline.json     epochs, back to back (below)
#   payload-baseline.json         perf/payload.mjs on the baseline's shipped CPU site
#   browser-baseline.json         perf/browser.mjs on the baseline's site, CPU only
# The baseline is a git worktree outside the repository (BENCH_BASELINE_DIR, default
# ~/.cache/movie-genie/baseline/<hash>) built with its own CARGO_TARGET_DIR (BENCH_BASELINE_TARGET,
# default ~/.cache/movie-genie/target-baseline), so the current build's binaries and wasm modules
# are never overwritten; both are kept for the next run.
# Training: both builds read this checkout's configs/two_tower_config.yaml with num_epochs and
# patience set to the epoch count (no early stop; same seed) and data/processed, each in a scratch
# folder of its own (models/, metrics/ and movie_embeddings.parquet go there): nothing in the
# repository changes. Each `train` then also fits the shipped model, counted in wall_s alone.
# The site: the baseline's own `./build.sh cpu` (the CPU figures are what is compared), measured
# before its benchmark build where its build.sh has one (MOVIE_GENIE_BENCH); older commits ship
# the benchmark API in every build. A baseline that locks another wasm-bindgen reinstalls the CLI
# (scripts/tools.sh), and the current build's next build.sh puts its own back.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
if [ $# != 2 ]; then
    echo "perf/baseline.sh: expected COMMIT OUT_DIR; got $# arguments" >&2
    exit 2
fi
out="$(realpath "$2")"
sha="$(git rev-parse --verify "$1^{commit}")"
# Absolute: the trainings run in their scratch folders.
tree="$(realpath -m "${BENCH_BASELINE_DIR:-$HOME/.cache/movie-genie/baseline/$sha}")"
target="$(realpath -m "${BENCH_BASELINE_TARGET:-$HOME/.cache/movie-genie/target-baseline}")"
epochs="${BENCH_TRAIN_EPOCHS:-6}"
data_dir="$(realpath "${MOVIE_GENIE_DATA:-../shared/data}")"
rm -f "$out"/baseline.json "$out"/train-fixed-*.json "$out"/payload-baseline.json "$out"/browser-baseline.json

if [ ! -d "$tree" ]; then
    mkdir -p "$(dirname "$tree")"
    git worktree prune
    git worktree add --detach "$tree" "$sha"
fi
if [ "$(git -C "$tree" rev-parse HEAD)" != "$sha" ]; then
    echo "perf/baseline.sh: $tree is not at $sha; remove it (git worktree remove) or set BENCH_BASELINE_DIR" >&2
    exit 1
fi

# Every build first, so that no compilation runs beside a measurement.
cargo build --release --bin movie-genie
current_bin="$(realpath "$CARGO_TARGET_DIR/release/movie-genie")"
(cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release --bin movie-genie)
baseline_bin="$target/release/movie-genie"
(cd "$tree" && CARGO_TARGET_DIR="$target" MOVIE_GENIE_BENCH=0 ./build.sh cpu)
node perf/payload.mjs "$tree/dist" "$out/payload-baseline.json"
if grep -q MOVIE_GENIE_BENCH "$tree/build.sh"; then
    (cd "$tree" && CARGO_TARGET_DIR="$target" MOVIE_GENIE_BENCH=1 ./build.sh cpu)
fi

node -e '
const [out, given, sha, subject] = process.argv.slice(1);
require("fs").writeFileSync(out, JSON.stringify({ commit: given, sha, subject }, null, 1) + "\n");
' "$out/baseline.json" "$1" "$sha" "$(git log -1 --format=%s "$sha")"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/movie-genie-train-fixed.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
sed -e "s/^num_epochs:.*/num_epochs: $epochs/" -e "s/^patience:.*/patience: $epochs/" \
    configs/two_tower_config.yaml > "$scratch/config.yaml"
grep -q "^num_epochs: $epochs$" "$scratch/config.yaml"
grep -q "^patience: $epochs$" "$scratch/config.yaml"

#   train_fixed NAME BINARY COMMIT: one fixed-epoch `train` in $scratch/NAME → train-fixed-NAME.json
train_fixed() {
    local name="$1" bin="$2" commit="$3" dir="$scratch/$1"
    mkdir -p "$dir"
    cp -R data/processed "$dir/processed"
    local started
    started="$(date +%s%N)"
    (cd "$dir" && "$bin" train --config "$scratch/config.yaml" --data-dir "$data_dir" \
        --processed-dir processed --models-dir models --metrics-dir metrics)
    node -e '
const fs = require("fs");
const [metrics, out, build, commit, epochs, threads, started, ended] = process.argv.slice(1);
const m = JSON.parse(fs.readFileSync(metrics, "utf8"));
fs.writeFileSync(out, JSON.stringify({
  build, commit, epochs: Number(epochs), threads: Number(threads), wall_s: (Number(ended) - Number(started)) / 1e9,
  seconds_total: m.seconds_total, seconds_per_epoch: m.seconds_per_epoch, epochs_run: m.epochs_run,
  history: m.history.map((h) => ({ epoch: h.epoch, valid_ndcg_at_20: h.valid_ndcg_at_20,
    train_seconds: h.train_seconds, seconds: h.seconds })),
}, null, 1) + "\n");
' "$dir/metrics/two_tower_metrics.json" "$out/train-fixed-$name.json" "$name" "$commit" "$epochs" \
        "$(nproc)" "$started" "$(date +%s%N)"
    cat "$out/train-fixed-$name.json"
}
train_fixed current "$current_bin" "$(git rev-parse --short HEAD)"
train_fixed baseline "$baseline_bin" "$(git rev-parse --short "$sha")"

ensure_chromium
if [ ! -d node_modules/playwright-core ]; then npm ci --no-audit --no-fund; fi
BENCH_BACKENDS=cpu node perf/browser.mjs "$out/browser-baseline.json" "$tree/dist"
