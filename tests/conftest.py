import pytest

from gaitid.training.data import data_root


@pytest.fixture(scope="session")
def casia_root():
    root = data_root() / "casia-b"
    if not (root / "001.npz").is_file():
        pytest.skip(f"CASIA-B not found at {root} (set GAITID_DATA to the shared data folder)")
    return root
