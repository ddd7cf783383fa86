#!/usr/bin/env bash
# What the GPU machine runs (DEVELOPERS.md, "The GPU machine"): the silhouette model's job, whose results land
# in $OUT. A dry run here: OUT=/tmp/gpu_out tools/gpu_job.sh --device cpu --budget 150 --validation 40 \
#   --score-subjects 001-002
set -o pipefail
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} GAITID_DATA=.gpu/data PYTHONUNBUFFERED=1
: "${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true; python3 --version
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } 2>&1 | tee "$OUT/job.log"
python3 -m gaitid.training.gpu_job run --out "$OUT" "$@" 2>&1 | tee -a "$OUT/job.log"
