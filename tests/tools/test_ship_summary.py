"""The enrolled people's null is judged by its written rule (benchmarks/RESULTS-openset.md) from the
benchmarks' JSON, not by eye: tools/ship_summary.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("ship_summary", Path(__file__).parents[2] / "tools" / "ship_summary.py")
ship_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ship_summary)


def vtest(named: int) -> dict:
    cell = {"named": named}
    return {"galleries": {k: {"cohort": {"0.01": cell, "0.05": cell}} for k in ("5", "10")}}


def validation(fpir: float, cl: float) -> dict:
    cell = {"fpir": fpir, "tpir_NM": 0.99, "tpir_BG": 0.9, "tpir_CL": cl}
    return {"0.05": cell}


def decisions(without: dict, with_null: dict) -> dict:
    return {"decisions": {"cohort only": {"10": without, "20": without},
                          "with enrolled null": {"10": with_null, "20": with_null}}}


@pytest.mark.parametrize(
    ("named_after", "fpir_after", "cl_after", "kept"),
    [
        (10, 0.045, 0.76, True),   # fewer strangers, 0.5 point of FPIR and 4 of CL lost: within the rule
        (80, 0.045, 0.76, False),  # as many strangers named on vtest as without it
        (10, 0.035, 0.76, False),  # 1.5 points of FPIR lost on the validation people
        (10, 0.045, 0.74, False),  # 6 points of coated walkers turned away
    ],
)
def test_the_enrolled_null_is_kept_only_when_every_criterion_holds(named_after, fpir_after, cl_after, kept) -> None:
    verdict, checks = ship_summary.enrolled_null_verdict(
        vtest(80), vtest(named_after), decisions(validation(0.05, 0.80), validation(fpir_after, cl_after))
    )
    assert verdict is kept
    failed = [c for c in checks if c.startswith("FAILS")]
    assert len(checks) == 12 and bool(failed) is not kept
