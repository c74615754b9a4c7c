from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference data folder ../shared/data (skips when absent)."""
    if not SHARED.exists():
        pytest.skip(f"{SHARED} not found")
    return SHARED
