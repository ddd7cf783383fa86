#!/usr/bin/env bash
# Train every candidate skeleton-ensemble member (configs/skeleton/gpu_*.yaml) three times at once, on
# validation fold A (Person001-080), fold B (Person021-100) and on all training people (001-100), each for
# the config's wall-clock budget, one process per run (made for a GPU machine with 16 cores); then embed
# each fold run's held-out people for experiments/kinect_ensemble_selection.py.
#
#   GAITID_DATA=../shared/data bash experiments/kinect_sweep.sh OUT_DIR [SECONDS]
#
# OUT_DIR/runs/{A,B,full}_NAME/ (last.pt, log.jsonl, stdout), OUT_DIR/vectors/{A,B}_NAME.npz.
set -euo pipefail
out=${1:?usage: kinect_sweep.sh OUT_DIR [SECONDS]}
seconds=${2:-}
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}src OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
python=${PYTHON:-python3}
mkdir -p "$out/runs" "$out/vectors"
declare -A people=([A]="001-080" [B]="021-100" [full]="001-100")
pids=()
for config in configs/skeleton/gpu_*.yaml; do
    name=$(basename "$config" .yaml)
    name=${name#gpu_}
    for fold in A B full; do
        run="$out/runs/${fold}_$name"
        mkdir -p "$run"
        args=(--out-dir "$run" --set "data.subjects=${people[$fold]}")
        [ -n "$seconds" ] && args+=(--set "schedule.max_seconds=$seconds")
        "$python" -m gaitid train "$config" "${args[@]}" >"$run/stdout" 2>&1 &
        pids+=($!)
    done
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { tail -n 5 "$out"/runs/*/stdout; echo "a training run failed" >&2; exit 1; }
pids=()
for run in "$out"/runs/A_* "$out"/runs/B_*; do
    tag=$(basename "$run")
    "$python" experiments/kinect_ensemble_selection.py embed "${tag%%_*}" "$run/last.pt" \
        --member "${tag#*_}" --out "$out/vectors" >"$run/embed.out" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { tail -n 5 "$out"/runs/*/embed.out; echo "embedding a fold failed" >&2; exit 1; }
grep -h "'step'" "$out"/runs/*/stdout
