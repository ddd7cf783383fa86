#!/usr/bin/env bash
# Rehearse the GPU job on the CPU as the GPU machine will see it: a copy of the last commit without the model
# files (what tools/gpu_tree.sh slim leaves), the CASIA-B pack in .gpu, and the Python modules that machine
# lacks made unimportable. A short budget; the scores mean nothing, the point is that every step runs.
#   tools/gpu_rehearse.sh [OUT]      (default OUT: /tmp/gpu_rehearsal; about 8 minutes on two cores)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
out=${1:-/tmp/gpu_rehearsal}
copy=$(mktemp -d /tmp/gpu_slim.XXXX)
[ -d "$root/.gpu/data/casia-b" ] || { echo "no pack: PYTHONPATH=src python3 -m gaitid.training.gpu_job pack" >&2; exit 2; }
git -C "$root" archive HEAD | tar -x -C "$copy"
"$root/tools/gpu_tree.sh" heavy | (cd "$copy" && xargs rm -rf)
ln -s "$root/.gpu" "$copy/.gpu"
mkdir -p "$copy/.block"
cat > "$copy/.block/sitecustomize.py" <<'PY'
import sys
ABSENT = {"av", "ai_edge_litert", "fastapi", "uvicorn", "multipart", "faiss", "cryptography", "httpx", "ray"}
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ImportError(f"{name}: not on the GPU machine")
        return None
sys.meta_path.insert(0, _Absent())
PY
rm -rf "$out"
cd "$copy"
OUT=$out PYTHONPATH=.block bash tools/gpu_job.sh --device cpu --budget 420 --validation 40 --score-subjects 001-002 --work "$copy/work"
ls -l "$out"
