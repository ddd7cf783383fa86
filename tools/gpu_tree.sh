#!/usr/bin/env bash
# The working tree that a GPU call carries must stay under 64 MiB, and the shipped model files alone weigh
# more. `slim` puts the checkout on a detached commit without them (the GPU job trains and scores from
# checkpoints, it needs none of them); `back` returns to the branch, model files and all.
#
#   tools/gpu_tree.sh slim    # commit or stash your work first
#   (call the GPU machine: DEVELOPERS.md, "The GPU machine")
#   tools/gpu_tree.sh back
#   tools/gpu_tree.sh heavy   # the folders left out, one a line (tools/gpu_rehearse.sh leaves them out too)
set -euo pipefail
cd "$(dirname "$0")/.."
HEAVY=(src/gaitid/pose/models src/gaitid/gait/weights src/gaitid/samples)

case "${1:-}" in
  heavy)
    printf '%s\n' "${HEAVY[@]}"
    ;;
  slim)
    if ! git diff --quiet || ! git diff --cached --quiet; then
      echo "gpu_tree: commit or stash your changes first" >&2; exit 2
    fi
    branch=$(git symbolic-ref --short -q HEAD) || { echo "gpu_tree: not on a branch (already slim?)" >&2; exit 2; }
    git checkout -q --detach
    git rm -q -r -- "${HEAVY[@]}"
    git -c user.name=gpu -c user.email=gpu@localhost commit -q -m "slim tree for the GPU machine (from $branch)"
    echo "$branch" > .git/gpu_tree_branch
    tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
    others=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb | tail -1 | cut -f1)
    pack=$(du -sb .gpu 2>/dev/null | cut -f1 || echo 0)
    total=$(( tracked + ${others:-0} + ${pack:-0} ))
    echo "travels: $(( total / 1048576 )) MiB (tracked $(( tracked / 1048576 )), untracked $(( ${others:-0} / 1048576 )), .gpu $(( ${pack:-0} / 1048576 ))); the limit is 64 MiB"
    [ "$total" -lt $(( 64 * 1048576 )) ] || { echo "gpu_tree: over 64 MiB" >&2; exit 1; }
    ;;
  back)
    branch=$(cat .git/gpu_tree_branch 2>/dev/null || echo main)
    git checkout -q "$branch"
    rm -f .git/gpu_tree_branch
    echo "back on $branch"
    ;;
  *)
    echo "usage: tools/gpu_tree.sh slim|back|heavy" >&2; exit 2
    ;;
esac
