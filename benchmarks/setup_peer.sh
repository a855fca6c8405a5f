#!/usr/bin/env bash
# Sets up the peer implementation for the benchmarks: gretel-synthetics' PyTorch DGAN
# (gretel_synthetics.timeseries_dgan), CPU only, in its own virtual environment.
#
# Usage (from the repository root or anywhere):
#     bash benchmarks/setup_peer.sh            # creates benchmarks/.peer-venv
#     PEER_VENV=/some/dir bash benchmarks/setup_peer.sh
#
# Idempotent: does nothing when the venv already imports gretel_synthetics.timeseries_dgan.dgan.
# Order matters:
#   1. torch==2.13.0 first (a CPU wheel; an unpinned torch pulls a multi-GB CUDA build);
#   2. gretel-synthetics==0.22.20 with --no-deps (its full pins do not resolve here);
#   3. only what its time-series module imports, with versions it works with.
# pip then warns that sdv, rdt, sentencepiece and protobuf are missing: expected, they are
# needed only by gretel's other models.
# The venv never goes into git (benchmarks/.peer-venv is listed in .git/info/exclude).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PEER_VENV:-$here/.peer-venv}"
python="${PYTHON:-python3}"

check() {
    [ -x "$venv/bin/python" ] && "$venv/bin/python" -c \
        "import gretel_synthetics.timeseries_dgan.dgan" >/dev/null 2>&1
}

if check; then
    echo "peer venv ready: $venv"
    exit 0
fi

"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet)
"${pip[@]}" torch==2.13.0
"${pip[@]}" --no-deps gretel-synthetics==0.22.20
"${pip[@]}" "numpy<1.24" "pandas<2" category-encoders==2.4.0 "scipy<1.11" tqdm

if ! check; then
    echo "setup_peer.sh: the venv at $venv still cannot import" \
         "gretel_synthetics.timeseries_dgan.dgan" >&2
    "$venv/bin/python" -c "import gretel_synthetics.timeseries_dgan.dgan" >&2 || true
    exit 1
fi
"$venv/bin/python" - <<'PY'
import importlib.metadata, torch
print("peer venv ready: torch", torch.__version__, "gretel-synthetics",
      importlib.metadata.version("gretel-synthetics"), "cuda", torch.cuda.is_available())
PY
