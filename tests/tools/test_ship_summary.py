"""tools/ship_summary.py judges the open set at the precision its figures are recorded."""

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "ship_summary.py"


def _summary():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("ship_summary", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _openset(fpir_at_5: float) -> dict:
    cell = {"fpir": 0.01, "tpir_NM": 0.99, "tpir_BG": 0.95, "tpir_CL": 0.8}
    return {"decisions": {"cohort": {"10": {"0.01": dict(cell), "0.05": {**cell, "fpir": fpir_at_5}}}}}


def test_an_fpir_recorded_as_exactly_two_points_off_is_within_the_band() -> None:
    lines = _summary().openset_lines(_openset(0.029993682880606443))  # version 7's k = 10, recorded 3.00 %
    assert "- issue 14's floors: met" in lines


def test_an_fpir_past_two_points_is_a_miss() -> None:
    lines = _summary().openset_lines(_openset(0.0299))
    assert any("missed: k = 10 at 5%: 2.99 %" in line for line in lines)
