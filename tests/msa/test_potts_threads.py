import numpy as np

from seqlens.alphabet import Alphabet
from seqlens.msa import Alignment, Potts

POTTS3 = Alphabet("POTTS3", "_*^-")


def test_potts_fit_does_not_depend_on_the_thread_count(data_dir):
    """The study fits Potts on all cores and promises the same numbers on every re-run."""
    msa = Alignment.read(data_dir / "potts3.a2m", alphabet=POTTS3)
    fits = [Potts(preset="plmc", identity=None, max_iter=15, n_threads=n).fit(msa) for n in (1, 2)]
    assert np.array_equal(fits[0].h_, fits[1].h_)
    assert np.array_equal(fits[0].J_, fits[1].J_)
