#!/usr/bin/env bash
# Creates the virtual environment for perf/torch_epoch.py (PyTorch CPU reference), once.
# Usage: perf/setup-torch.sh [VENV]   (default: $HOME/.cache/movie-genie/torchvenv; PYTHON=python3)
# Then:  VENV/bin/python perf/torch_epoch.py
# Skips the install when VENV already holds exactly perf/requirements-torch.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
req="$here/requirements-torch.txt"
venv="${1:-${TORCH_VENV:-$HOME/.cache/movie-genie/torchvenv}}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements-torch.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import torch, numpy, pyarrow, yaml' 2>/dev/null; then
    echo "setup-torch: $venv already has $(basename "$req"): nothing to do"
else
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "setup-torch: creating $venv with $("$python" --version 2>&1)"
        "$python" -m venv "$venv"
    fi
    echo "setup-torch: installing $(grep -v '^#' "$req" | xargs) (~3.1 GB of wheels, about a minute)"
    start=$SECONDS
    "$venv/bin/pip" install --progress-bar off -q -r "$req"
    echo "$want" > "$stamp"
    echo "setup-torch: installed in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1) on disk"
fi
"$venv/bin/python" -c 'import torch; print(f"setup-torch: torch {torch.__version__}, {torch.get_num_threads()} CPU threads; run: '"$venv"'/bin/python perf/torch_epoch.py")'
