"""The figures of a shipped silhouette model, read from what `tools/ship_gait_model.sh` wrote, as Markdown:
the test subjects against issue 15's floors, the CI subset, casia-b-rgb, vtest and the open-set table
against issue 14's floors. It only reads and compares; the floors are the issues'.

    python3 tools/ship_summary.py VERSION [WORK]      # WORK: ../runs/ship_vVERSION
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path("benchmarks/results")
CASIA_FLOORS = {"NM": 92.0, "BG": 84.0, "CL": 62.0}  # issue 15, on the CPU
OPENSET_K4_FLOORS = {"NM": 90.0, "BG": 75.0, "CL": 50.0}  # issue 14, k = 4 at a 5 % target


def load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def casia_lines(full: dict | None, subset: dict | None) -> list[str]:
    lines = ["## CASIA-B", ""]
    if full:
        r = full["rank1"]
        short = {k: round(CASIA_FLOORS[k] - r[k], 2) for k in CASIA_FLOORS if r[k] < CASIA_FLOORS[k]}
        lines.append(f"- test subjects 075-124, all frames: NM {r['NM']:.2f} / BG {r['BG']:.2f} / CL {r['CL']:.2f}; "
                     + (f"under issue 15's CPU floors by {short}" if short else "issue 15's CPU floors met"))
    if subset:
        r = subset["rank1"]
        lines.append(f"- CI subset 075-084, 30-frame clips: NM {r['NM']:.2f} / BG {r['BG']:.2f} / CL {r['CL']:.2f}")
    return lines + [""]


def domain_gap_lines(gap: dict | None) -> list[str]:
    if not gap:
        return []
    s = gap["summary"]
    return ["## casia-b-rgb", "",
            f"- walks found from the pipeline's silhouettes: {s['found_from_pipeline']} of {s['walks']} "
            f"(floor 15; mean rank {s['mean_rank_from_pipeline']:.2f}); from the dataset's: {s['found_from_dataset']}; "
            f"IoU {s['iou']:.4f}", ""]


def vtest_lines(vtest: dict | None) -> list[str]:
    if not vtest:
        return []
    closed = vtest["closed_set_rank1"]
    lines = ["## vtest", "", f"- closed set: {closed['correct']} of {closed['walkers']} walkers first (floor 10 of 21)", "",
             "| k | decision | target | strangers named | TPIR | misnamed |", "|---:|---|---:|---:|---:|---:|"]
    for k, decisions in vtest["galleries"].items():
        for name in ("cohort", "cohort + site"):
            for target, cell in decisions.get(name, {}).items():
                lines.append(f"| {k} | {name} | {float(target):.0%} | {cell['fpir']:.1%} ({cell['named']}/{cell['strangers']}) "
                             f"| {cell['tpir']:.1%} | {cell['misnamed']:.1%} |")
    return lines + [""]


def off_target(fpir: float, target: float) -> float:
    """How far an FPIR is from its target, in points, at the precision the figures are recorded (0.01):
    2.9994 % at a 5 % target is recorded as 3.00, within issue 14's 2 points, and judged so."""
    return round(abs(100 * fpir - 100 * target), 2)


def openset_lines(openset: dict | None) -> list[str]:
    if not openset:
        return []
    lines = ["## Open set, CASIA-B test subjects", "", "| k | FPIR @1 % | FPIR @5 % | TPIR NM / BG / CL @5 % |", "|---:|---:|---:|---|"]
    misses = []
    for k, cells in openset["decisions"]["cohort"].items():
        row = []
        for target in ("0.01", "0.05"):
            fpir = cells[target].get("fpir")
            row.append("-" if fpir is None else f"{100 * fpir:.2f}")
            if fpir is not None and int(k) in (1, 2, 4, 10) and off_target(fpir, float(target)) > 2.0:
                misses.append(f"k = {k} at {float(target):.0%}: {100 * fpir:.2f} %")
        five = cells["0.05"]
        tpir = " / ".join(f"{100 * five[f'tpir_{c}']:.1f}" for c in ("NM", "BG", "CL"))
        lines.append(f"| {k} | {row[0]} | {row[1]} | {tpir} |")
        if k == "4":
            misses += [f"k = 4 TPIR {c} {100 * five[f'tpir_{c}']:.1f} < {floor:g}"
                       for c, floor in OPENSET_K4_FLOORS.items() if 100 * five[f"tpir_{c}"] < floor]
    lines += ["", "- issue 14's floors: " + ("met" if not misses else "missed: " + "; ".join(misses)), ""]
    return lines


def machine_line() -> str:
    """Whether this CPU has AVX-512: the tracker makes 21 walkers of vtest with it and 17 without, so
    figures from the two kinds of machine do not compare (benchmarks/RESULTS-openset.md)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "- machine: unknown CPU flags"
    return f"- machine: {'AVX-512' if 'avx512f' in flags else 'no AVX-512 (AVX2)'}"


def summary(version: str, work: Path) -> str:
    model = f"gaitset_strips_s version {version}"
    lines = [f"# {model}: the figures of its one scoring", "", machine_line(), ""]
    lines += casia_lines(load(RESULTS / f"gait_gaitset_strips_s_v{version}_full.json"), load(work / "ci_subset.json"))
    lines += domain_gap_lines(load(RESULTS / "domain_gap.json"))
    lines += vtest_lines(load(RESULTS / "identify_vtest.json"))
    lines += openset_lines(load(RESULTS / "openset_small_galleries.json"))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version")
    parser.add_argument("work", nargs="?", type=Path)
    args = parser.parse_args()
    work = args.work or Path(f"../runs/ship_v{args.version}")
    sys.stdout.write(summary(args.version, work) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
