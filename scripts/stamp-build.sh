#!/usr/bin/env bash
# Makes the site in DIR one build: writes DIR/manifest.json, every file the service worker may
# answer with its length and SHA-256, and stamps the manifest's build id into DIR/sw.js, so a new
# build is a new service worker (www/sw.js says how it installs and checks them).
#   scripts/stamp-build.sh DIR
# build.sh runs it on dist/ after each assembly; the end-to-end tests run it on changed copies of
# dist/ to deploy new builds.
#
# manifest.json: {"build": ID, "files": {PATH: {"sha256": HEX, "bytes": N, "lazy": true?}}}
#   PATH     relative to DIR; every file but sw.js (which carries the id) and manifest.json
#   lazy     fetched only when the page needs it, so installing a build leaves it out
#   ID       the first 16 hex digits of the SHA-256 of the "files" object: it covers every file
#            present, so adding the WebGPU module (`./build.sh webgpu`) makes a new build
set -euo pipefail
dir="${1:?usage: scripts/stamp-build.sh DIR}"
cd "$dir"

# Fetched only where needed: the WebGPU module (engine.js fetches it only where WebGPU is
# measured), the "describe a movie" search data (fetched when a visitor first describes a
# movie) and the benchmark (?bench).
is_lazy() {
    case "$1" in
        pkg/webgpu/* | bench.js | assets/movie-genie.search) return 0 ;;
        *) return 1 ;;
    esac
}

files=""
while IFS= read -r path; do
    if [[ ! "$path" =~ ^[A-Za-z0-9._/-]+$ ]]; then
        echo "stamp-build.sh: $dir/$path: a file name JSON would need escaped; rename it" >&2
        exit 1
    fi
    sha="$(sha256sum "$path" | cut -d' ' -f1)"
    bytes="$(wc -c < "$path" | tr -d ' ')"
    lazy=""
    if is_lazy "$path"; then lazy=', "lazy": true'; fi
    files+="${files:+,
}    \"$path\": {\"sha256\": \"$sha\", \"bytes\": $bytes$lazy}"
done < <(find . -type f ! -path ./sw.js ! -path ./manifest.json ! -name '*.tmp' | sed 's|^\./||' | LC_ALL=C sort)
files="{
$files
  }"
build="$(printf '%s' "$files" | sha256sum | cut -c1-16)"

# Manifest first, then the service worker that names it: a browser that fetches the new sw.js
# finds its manifest; one that installs the old sw.js meanwhile sees the ids differ and retries.
printf '{\n  "build": "%s",\n  "files": %s\n}\n' "$build" "$files" > manifest.json.tmp
mv manifest.json.tmp manifest.json
sed "s/^const BUILD = '[^']*';/const BUILD = '$build';/" sw.js > sw.js.tmp
if ! grep -q "^const BUILD = '$build';" sw.js.tmp; then
    rm -f sw.js.tmp
    echo "stamp-build.sh: $dir/sw.js has no line \`const BUILD = '…';\` to stamp" >&2
    exit 1
fi
mv sw.js.tmp sw.js
echo "stamp-build.sh: $dir is build $build"
