#!/usr/bin/env bash
# End-to-end tests of the page (tests/e2e/) in Debian's Chromium driven by playwright-core, on a
# fresh Debian machine too: installs Chromium if missing and the npm packages of
# package-lock.json, builds the site into dist/ with the quick wasm-dev profile, then runs node's
# test runner. The tests serve dist/ themselves and print a MEASURE line with the time from a
# cold load to the first recommendations.
#   MOVIE_GENIE_PROFILE    cargo profile for build.sh (default here wasm-dev: minutes, incremental;
#                          the release LTO build takes ~47 min on 2 cores)
#   MOVIE_GENIE_SKIP_BUILD=1  test the dist/ already built
#   MOVIE_GENIE_ARTIFACTS  screenshots and the exported ratings (default /tmp/movie-genie-artifacts)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
    echo "test-e2e.sh: needs Node.js 20 or newer (playwright-core); have $(node --version 2>/dev/null || echo none)" >&2
    exit 1
fi
ensure_chromium
# Exactly the locked versions; playwright-core never downloads a browser (the tests use Debian's).
npm ci --no-audit --no-fund

if [ "${MOVIE_GENIE_SKIP_BUILD:-0}" != 1 ]; then
    MOVIE_GENIE_PROFILE="${MOVIE_GENIE_PROFILE:-wasm-dev}" ./build.sh
fi

export MOVIE_GENIE_ARTIFACTS="${MOVIE_GENIE_ARTIFACTS:-/tmp/movie-genie-artifacts}"
rm -rf "$MOVIE_GENIE_ARTIFACTS"
mkdir -p "$MOVIE_GENIE_ARTIFACTS"
echo "test-e2e.sh: screenshots go to $MOVIE_GENIE_ARTIFACTS"
# The shipped bundle with tests/fixtures/new-movies.csv added, for the test of movies added
# after training (MiniLM from ../shared/models). The CLI is the one `cargo test` builds for the
# integration tests: `cargo run` resolves features without the dev-dependencies and would
# compile the native stack a second time on a fresh machine.
cli="$(cargo test --profile "$NATIVE_TEST_PROFILE" --no-run --test add_movies --message-format=json | node -e '
let text = "";
process.stdin.on("data", (d) => { text += d; }).on("end", () => {
  for (const line of text.split("\n").filter((l) => l.startsWith("{"))) {
    const m = JSON.parse(line);
    if (m.reason === "compiler-artifact" && m.target.kind.includes("bin") && m.target.name === "movie-genie") {
      console.log(m.executable);
    }
  }
});')"
if [ ! -x "$cli" ]; then
    echo "test-e2e.sh: expected cargo to name the movie-genie executable; got '$cli'" >&2
    exit 1
fi
export MOVIE_GENIE_ADDED_BUNDLE="$MOVIE_GENIE_ARTIFACTS/added-movies.bundle"
# A copy of the movie-id registry, which add-movies records the new ids in: the committed one
# stays as it is.
cp shipped/movie-ids.json "$MOVIE_GENIE_ARTIFACTS/movie-ids.json"
"$cli" add-movies tests/fixtures/new-movies.csv \
    --bundle dist/assets/movie-genie.bundle --out "$MOVIE_GENIE_ADDED_BUNDLE" \
    --movie-ids "$MOVIE_GENIE_ARTIFACTS/movie-ids.json"
node --test tests/e2e/
