from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "msa"
if not DATA.exists():
    DATA = Path("/work/shared/data/msa")


@pytest.fixture(scope="session")
def data_dir():
    if not DATA.exists():
        pytest.skip("shared MSA data not available")
    return DATA


@pytest.fixture(scope="session")
def dhfr(data_dir):
    from seqlens.msa import Alignment

    return Alignment.read(data_dir / "DHFR.a2m", focus="DYR_ECOLI")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Shared 2-core machines: one torch thread avoids OpenMP spin-waiting under load."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
