"""Offline JASPAR access (pyjaspar's SQLite databases)."""

import time
import warnings

import numpy as np
import pytest

from seqlens.io.motifs import read_jaspar
from seqlens.motifs import jaspar
from seqlens.motifs.jaspar import JasparLookupError

# the 12 motifs of Koo & Eddy 2019 (JASPAR 2016), with their names in that release
KOO_EDDY = {
    "MA0151.1": "Arid3a", "MA0466.2": "CEBPB", "MA0477.1": "FOSL1", "MA0062.2": "Gabpa",
    "MA0496.1": "MAFK", "MA0058.3": "MAX", "MA0052.3": "MEF2A", "MA0502.1": "NFYB",
    "MA0079.3": "SP1", "MA0083.3": "SRF", "MA0137.3": "STAT1", "MA0095.2": "YY1",
}


def test_releases():
    assert jaspar.available_releases() == [2014, 2016, 2018, 2020, 2022, 2024, 2026]
    assert jaspar.latest_release() == 2026


@pytest.mark.parametrize("release", [2016, 2026])
def test_koo_eddy_ids(release):
    for matrix_id, name in KOO_EDDY.items():
        m = jaspar.fetch_motif(matrix_id, release=release)
        assert m.name == matrix_id and m.alt_name.upper() == name.upper()
        assert m.is_counts and m.matrix.shape[0] == 4
        assert m.metadata["release"] == release and m.metadata["collection"] == "CORE"
    sp1 = jaspar.fetch_motif("MA0079.3", release=release)
    assert sp1.width == 11 and sp1.consensus() == "GCCCCGCCCCC"
    np.testing.assert_array_equal(sp1.counts[:, 1], [0, 6215, 642, 1877])
    assert sp1.metadata["tax_group"] == "vertebrates" and sp1.metadata["species"] == ["9606"]
    assert sp1.metadata["tf_class"] == ["C2H2 zinc finger factors"]


def test_release_spellings_and_base_id_gives_latest_version():
    assert jaspar.fetch_motif("MA0079", release=2016).name == "MA0079.3"
    assert jaspar.fetch_motif("ma0079", release="JASPAR2024").name == "MA0079.5"
    assert jaspar.fetch_motif("MA0079", release="2020").name == "MA0079.4"
    assert jaspar.fetch_motif("MA0079").name == "MA0079.5"  # default: latest release
    old = jaspar.fetch_motif("MA0079.1", release=2026)
    assert old.metadata["version"] == 1 and old.metadata["base_id"] == "MA0079"


def test_matches_pyjaspar():
    from pyjaspar import jaspardb

    for release, matrix_id in [(2016, "MA0466.2"), (2024, "MA0079.5"), (2026, "MA0095.3")]:
        ref = jaspardb(release=f"JASPAR{release}").fetch_motif_by_id(matrix_id)
        ours = jaspar.fetch_motif(matrix_id, release=release)
        expected = np.array([ref.counts[letter] for letter in "ACGT"])
        np.testing.assert_array_equal(ours.counts, expected)
        assert ours.alt_name == ref.name and ours.metadata["collection"] == ref.collection


def test_core_vertebrates_2016_equals_the_pfm_file(shared_data):
    t0 = time.perf_counter()
    motifs = jaspar.fetch_motifs(release=2016, collection="CORE", tax_group="vertebrates")
    seconds = time.perf_counter() - t0
    assert len(motifs) == 519
    assert seconds < 5.0
    from_file = {m.name: m for m in read_jaspar(shared_data / "genomics" / "pfm_vertebrates.txt")}
    assert sorted(from_file) == [m.name for m in motifs]  # sorted by matrix ID
    for m in motifs:
        np.testing.assert_array_equal(m.counts, from_file[m.name].counts, err_msg=m.name)
        assert m.alt_name == from_file[m.name].alt_name


def test_fetch_all_core_vertebrates_latest_is_fast():
    jaspar.fetch_motifs(release=2026, tax_group="vertebrates")  # warm the connection
    t0 = time.perf_counter()
    motifs = jaspar.fetch_motifs(tax_group="vertebrates")
    assert time.perf_counter() - t0 < 2.0
    assert len(motifs) == 1019
    assert all(m.metadata["tax_group"] == "vertebrates" for m in motifs)
    assert all(m.metadata["collection"] == "CORE" for m in motifs)
    # latest version only: one motif per base ID
    bases = [m.metadata["base_id"] for m in motifs]
    assert len(set(bases)) == len(bases)
    assert jaspar._connection(2026) is jaspar._connection(2026)


def test_filters():
    insects = jaspar.fetch_motifs(release=2024, tax_group="Insects")
    assert insects and all(m.metadata["tax_group"] == "insects" for m in insects)
    both = jaspar.fetch_motifs(release=2024, tax_group=["insects", "nematodes"])
    nematodes = jaspar.fetch_motifs(release=2024, tax_group="nematodes")
    assert len(both) == len(insects) + len(nematodes)
    human_zf = jaspar.fetch_motifs(release=2024, species=9606, tf_class="C2H2 zinc finger factors")
    assert human_zf and all("9606" in m.metadata["species"] for m in human_zf)
    assert all("C2H2 zinc finger factors" in m.metadata["tf_class"] for m in human_zf)
    long = jaspar.fetch_motifs(release=2016, tax_group="vertebrates", min_length=20)
    assert long and all(m.width >= 20 for m in long)
    rich = jaspar.fetch_motifs(release=2016, tax_group="vertebrates", min_information=20)
    assert rich and all(m.total_information() >= 20 for m in rich)
    subset = jaspar.fetch_motifs(release=2016, matrix_id=["MA0079", "MA0095.1"])
    assert [m.name for m in subset] == ["MA0079.3", "MA0095.1"]
    assert [m.name for m in jaspar.fetch_motifs(release=2014, matrix_id="POL002.1",
                                                collection=None)] == ["POL002.1"]
    versions = jaspar.fetch_motifs(release=2016, matrix_id="MA0079", all_versions=True)
    assert [m.name for m in versions] == ["MA0079.1", "MA0079.2", "MA0079.3"]
    with pytest.warns(UserWarning, match="zero counts"):
        every = jaspar.fetch_motifs(release=2026, collection=None, all_versions=True)
    assert len(every) > 5000
    assert jaspar.fetch_motifs(release=2016, tf_name="NO_SUCH_TF") == []


def test_fetch_by_name():
    sp1 = jaspar.fetch_motifs_by_name("sp1", release=2024)
    assert [(m.name, m.alt_name) for m in sp1] == [("MA0079.5", "SP1"), ("MA2279.1", "Sp1")]
    all_sp1 = jaspar.fetch_motifs_by_name("SP1", release=2024, all_versions=True)
    assert [m.name for m in all_sp1 if jaspar.same_base_id(m.name, "MA0079")] == [
        f"MA0079.{v}" for v in range(1, 6)]
    pair = jaspar.fetch_motifs_by_name(["YY1", "MAX"], release=2016)
    assert {m.alt_name for m in pair} == {"YY1", "MAX"}
    with pytest.raises(JasparLookupError, match="no motif named 'NOT_A_TF'"):
        jaspar.fetch_motifs_by_name("NOT_A_TF")


def test_synonym_ids():
    assert jaspar.base_id("MA0079.3") == "MA0079"
    assert jaspar.base_id("ma0079") == "MA0079"
    assert jaspar.same_base_id("MA0079.3", "MA0079.5")
    assert not jaspar.same_base_id("MA0079.3", "MA0080.3")
    assert jaspar.synonym_ids("MA0079.3", release=2016) == ["MA0079.1", "MA0079.2", "MA0079.3"]
    assert jaspar.synonym_ids("MA0079.3") == [f"MA0079.{v}" for v in range(1, 6)]


def test_errors():
    with pytest.raises(JasparLookupError, match=r"unknown JASPAR release 2015.*2014, 2016"):
        jaspar.fetch_motif("MA0079.3", release=2015)
    with pytest.raises(JasparLookupError, match="unknown JASPAR release"):
        jaspar.fetch_motifs(release="JASPAR2099")
    with pytest.raises(JasparLookupError, match="no version of this base ID"):
        jaspar.fetch_motif("MA9999.1")
    with pytest.raises(JasparLookupError, match=r"no matrix 'MA0079.9'.*MA0079.3"):
        jaspar.fetch_motif("MA0079.9", release=2016)
    with pytest.raises(JasparLookupError, match="not a JASPAR matrix ID"):
        jaspar.fetch_motif("FOS::JUN")
    with pytest.raises(JasparLookupError, match="'SP1' is a TF name.*fetch_motifs_by_name"):
        jaspar.fetch_motif("SP1")
    with pytest.raises(JasparLookupError, match="no matrix with base ID"):
        jaspar.synonym_ids("MA9999")
    with pytest.raises(LookupError):  # also a LookupError and a ValueError
        jaspar.fetch_motif("MA0466.2", release=2014)
    with pytest.raises(JasparLookupError, match="column with zero counts"):
        jaspar.fetch_motif("UN0498.1", release=2026)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaspar.fetch_motif("MA0079.3")  # a valid lookup warns about nothing
