import numpy as np

from gaitid.evaluation.crossview import evaluate_cross_view, format_report, frame_subset
from gaitid.evaluation.protocols import CASIA_B


def _gait_energy_image(frames):
    return frames.mean(axis=0).ravel()


def test_casia_b_protocol_on_a_few_real_subjects(casia_root):
    """The protocol runs end to end on 4 test subjects with a classic baseline (the gait energy image)."""
    result = evaluate_cross_view(
        CASIA_B, _gait_energy_image, "GEI", root=casia_root, subjects=(75, 76, 77, 78), max_frames=8,
        progress=False,
    )
    assert result["subjects"] == [75, 76, 77, 78]
    assert set(result["rank1"]) == {"NM", "BG", "CL"}
    for name in ("NM", "BG", "CL"):
        assert 0 <= result["rank1"][name] <= 100
        assert len(result["per_view"][name]) == 11
        table = np.array(result["tables"][name], dtype=float)
        assert np.isnan(np.diag(table)).all()
    # the GEI is far better than chance (25 %) on normal walking, even across views
    assert result["rank1"]["NM"] > 35
    report = format_report(result)
    assert "NM" in report and "180" in report


def test_frame_subset():
    assert frame_subset(10, None) is None and frame_subset(10, 20) is None
    idx = frame_subset(100, 5)
    assert idx.tolist() == [47, 48, 49, 50, 51]


def test_the_one_walk_validation_protocol_enrols_nm_01_only(casia_root):
    """casia-b-val-1: the validation subjects with nm-01 as the only gallery walk a view, the same probes."""
    from gaitid.evaluation.protocols import CASIA_B_VALIDATION, PROTOCOLS

    one = PROTOCOLS["casia-b-val-1"]
    assert one.gallery == ("nm-01",) and one.subjects == CASIA_B_VALIDATION.subjects
    four, single = (
        evaluate_cross_view(p, _gait_energy_image, "GEI", root=casia_root, subjects=(1, 2, 3), max_frames=8,
                            progress=False)
        for p in (CASIA_B_VALIDATION, one)
    )
    from gaitid.datasets.casia_b import load_casia_b

    dropped = len(load_casia_b((1, 2, 3), "test", casia_root, conditions=["nm-02", "nm-03", "nm-04"]))
    assert dropped > 0 and single["sequences"] == four["sequences"] - dropped
    assert all(0 <= single["rank1"][c] <= 100 for c in ("NM", "BG", "CL"))


def test_the_24_person_validation_protocol_is_the_standard_one_on_001_024():
    from gaitid.evaluation.protocols import CASIA_B_VALIDATION, PROTOCOLS

    wide = PROTOCOLS["casia-b-val24"]
    assert wide.subjects == tuple(range(1, 25)) and set(CASIA_B_VALIDATION.subjects) < set(wide.subjects)
    assert (wide.gallery, wide.probes, wide.views) == (CASIA_B.gallery, CASIA_B.probes, CASIA_B.views)
    assert not set(wide.subjects) & set(PROTOCOLS["casia-b"].subjects)
