#!/usr/bin/env bash
# Ship a silhouette checkpoint as the default model (gaitset_strips_s), then score it once on every
# benchmark its rule names (benchmarks/GAIT_RESULTS.md): the export first, whatever any score says, then
# the cohort, with the scores that need no cohort beside it. Each finished step leaves a mark in WORK, so a
# run cut short (a session's end) goes on where it stopped when started again with the same arguments.
#
#   bash tools/ship_gait_model.sh CHECKPOINT VERSION "NOTES" [WORK]
#
# CHECKPOINT is a training checkpoint (.pt), or an ONNX file already exported from one with this VERSION
# and NOTES (kept in the repository when a run ended before it could be shipped): that file is copied.
# WORK (default ../runs/ship_vVERSION, outside the repository) keeps the logs and the vector caches. Then
# read WORK/summary.md (tools/ship_summary.py) and the logs, move the CI floors
# (tests/gait/test_shipped_accuracy.py) and the recorded figures, commit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
checkpoint=$1 version=$2 notes=$3 work=${4:-../runs/ship_v$2}
[ -f "$checkpoint" ] || { echo "no checkpoint at $checkpoint" >&2; exit 2; }
mkdir -p "$work"
results=benchmarks/results

step() {  # step NAME COMMAND...: run once, log to WORK/NAME.log, mark WORK/NAME.done
    local name=$1; shift
    if [ -f "$work/$name.done" ]; then echo "== $name: done before"; return; fi
    echo "== $name: $* ($(date -u +%H:%M) UTC)"
    "$@" 2>&1 | tee "$work/$name.log"
    touch "$work/$name.done"
}

shipped=src/gaitid/gait/weights/gaitset_strips_s.onnx
if [[ $checkpoint == *.onnx ]]; then
    python3 - "$checkpoint" "$version" <<'PY'
import sys, onnxruntime
meta = onnxruntime.InferenceSession(sys.argv[1]).get_modelmeta().custom_metadata_map
if meta.get("gaitid_model") != "gaitset_strips_s" or meta.get("gaitid_version") != sys.argv[2]:
    sys.exit(f"{sys.argv[1]} is {meta.get('gaitid_model')} version {meta.get('gaitid_version')}, not gaitset_strips_s version {sys.argv[2]}")
PY
    step export cp "$checkpoint" "$shipped"
else
    step export gaitid export "$checkpoint" "$shipped" --version "$version" --notes "$notes"
fi
# The cohort embeds on one core; what needs no cohort runs beside it on the other.
step cohort python3 -m gaitid.training.cohort --cache "$work/windows_train.npz" > /dev/null &
cohort=$!
step casia_b gaitid evaluate casia-b --threads 1 --json "$results/gait_gaitset_strips_s_v${version}_full.json"
step ci_subset gaitid evaluate casia-b --subjects 075-084 --max-frames 30 --threads 1 --json "$work/ci_subset.json"
step domain_gap python3 benchmarks/domain_gap.py --cache ../runs/casia_rgb_masks_15.npz --json "$results/domain_gap.json"
wait $cohort  # a failed cohort stops the script here (set -e)
step identify_vtest python3 benchmarks/identify_vtest.py --cache "$work/vtest.npz" --json "$results/identify_vtest.json"
step openset python3 benchmarks/openset_small_galleries.py --windows "$work/windows_test.npz" \
    --json "$results/openset_small_galleries.json"
python3 tools/ship_summary.py "$version" "$work" | tee "$work/summary.md"
echo "all steps done; logs in $work, the figures in $work/summary.md"
