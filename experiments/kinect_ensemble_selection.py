"""Choose the members of a skeleton ensemble on two validation folds of the Kinect training people, by a
rule fixed here before any test-person result is seen.

Folds: A trains on Person001-080 and scores Person081-100; B trains on Person021-100 and scores
Person001-020 (`--set data.subjects=...` on `gaitid train`). Each candidate member is trained three
times with the same config: fold A, fold B, and on all of 001-100 (the run that would ship).

Step 1, `embed`: a fold's checkpoint -> the protocol vectors of its held-out people (views 0/45/90,
walks 1-2 gallery), each window's vector unit-normalised as inside an ensemble; one .npz per
(fold, member), named FOLD_MEMBER.npz.

Step 2, `select`: every non-empty subset S of the members is scored on both folds as the ensemble
`gaitid export` would build (`gaitid.evaluation.kinect.ensemble_vectors`). The rule:
  1. val_same(S), val_cross(S) = mean over folds A and B (or the folds named by --folds) of the ensemble's
     same-view and cross-view means;
  2. S is admissible when val_same(S) >= val_same(R) - 1.0, R the reference subset (--reference, the
     recipe shipped before, retrained under the same budget);
  3. the chosen S is the admissible one with the highest val_cross; within 0.01, fewer members first,
     then by name.
After choosing, and only then, the chosen members' 001-100 runs are exported together and scored once on
the test people (`gaitid evaluate kinect --weights`); what ships is decided by the rule written in
`benchmarks/results/kinect.md` beforehand.

    GAITID_DATA=../shared/data PYTHONPATH=src python experiments/kinect_ensemble_selection.py embed \\
        A /runs/A_lift/last.pt --member lift --out vectors/
    PYTHONPATH=src python experiments/kinect_ensemble_selection.py select vectors/ \\
        --reference tcn,lift,lift_bones --json benchmarks/results/kinect_selection.json
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

from gaitid.evaluation.kinect import (
    ProtocolVectors,
    embed_protocol,
    ensemble_vectors,
    make_skeleton_embedder,
    score_protocol,
)

FOLDS: dict[str, tuple[int, ...]] = {"A": tuple(range(81, 101)), "B": tuple(range(1, 21))}
SAME_VIEW_SLACK = 1.0
TIE = 0.01


def embed(fold: str, checkpoint: str, member: str, out: Path) -> Path:
    embedder, spec, _ = make_skeleton_embedder(checkpoint, unit_windows=True)
    run = embed_protocol(embedder, spec, people=FOLDS[fold], validation=True)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{fold}_{member}.npz"
    run.save(path)
    return path


def score_subsets(vectors: Path, folds: tuple[str, ...] = tuple(FOLDS)) -> list[dict[str, Any]]:
    """Every non-empty subset of the members found for every fold in `vectors`, scored per fold."""
    runs = {p.stem: ProtocolVectors.load(p) for p in sorted(vectors.glob("*.npz"))}
    per_fold = [{n.split("_", 1)[1] for n in runs if n.split("_", 1)[0] == f} for f in folds]
    members = sorted(set.intersection(*per_fold))
    rows = []
    for size in range(1, len(members) + 1):
        for subset in itertools.combinations(members, size):
            scores = {f: score_protocol(ensemble_vectors([runs[f"{f}_{m}"] for m in subset])) for f in folds}
            rows.append(
                {
                    "members": list(subset),
                    "folds": {
                        f: {k: r[k] for k in ("same_view_mean", "cross_view_mean")} for f, r in scores.items()
                    },
                    "val_same": round(sum(r["same_view_mean"] for r in scores.values()) / len(scores), 2),
                    "val_cross": round(sum(r["cross_view_mean"] for r in scores.values()) / len(scores), 2),
                }
            )
    return rows


def choose(rows: list[dict[str, Any]], reference: list[str]) -> dict[str, Any]:
    """The rule of the module doc."""
    by_members = {tuple(r["members"]): r for r in rows}
    ref = by_members.get(tuple(sorted(reference)))
    if ref is None:
        raise SystemExit(f"reference subset {reference} was not scored (members: {sorted(by_members)})")
    admissible = [r for r in rows if r["val_same"] >= ref["val_same"] - SAME_VIEW_SLACK]
    best = max(r["val_cross"] for r in admissible)
    near = [r for r in admissible if r["val_cross"] >= best - TIE]
    chosen = min(near, key=lambda r: (len(r["members"]), r["members"]))
    return {"reference": ref, "chosen": chosen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("embed")
    e.add_argument("fold", choices=sorted(FOLDS))
    e.add_argument("checkpoint")
    e.add_argument("--member", required=True)
    e.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("select")
    s.add_argument("vectors", type=Path)
    s.add_argument("--reference", required=True, help="comma-separated members")
    s.add_argument("--folds", default=",".join(FOLDS), help="comma-separated folds to average (default: all)")
    s.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "embed":
        print(embed(args.fold, args.checkpoint, args.member, args.out))
        return
    rows = score_subsets(args.vectors, tuple(args.folds.split(",")))
    result = choose(rows, args.reference.split(","))
    for r in sorted(rows, key=lambda r: -r["val_cross"]):
        print(f"{r['val_same']:6.2f} {r['val_cross']:6.2f}  {'+'.join(r['members'])}")
    print("reference:", result["reference"])
    print("chosen:   ", result["chosen"])
    if args.json:
        args.json.write_text(json.dumps({"rule": __doc__, **result, "subsets": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
