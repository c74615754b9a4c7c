"""Data shipped with seqlens (see NOTICE.md for sources and licences).

:func:`list_data` names the bundled example files with a one-line description and
:func:`data_path` gives the path of one of them (the CLI: ``seqlens data list`` and
``seqlens data path NAME``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DESCRIPTIONS = {
    "DHFR.a2m.gz": "dihydrofolate reductase family alignment (A2M, gzip), focus DYR_ECOLI/1-159, "
                   "3629 sequences x 171 columns (plmc example)",
    "DHFR_distances_longrange.csv": "DYR_ECOLI residue pairs |i-j| >= 6 with their minimum atom "
                                    "distance (i, j, dist; numbered by focus residues)",
    "DLG4_RAT_Ranganathan2012.csv": "deep mutational scan of PSD-95 PDZ3 (McLaughlin et al. 2012): "
                                    "mutant, CRIPT and Tm2F fitness",
    "PF00595_mgap6.fasta.gz": "PDZ domain family alignment (Pfam PF00595, gzip), 36690 sequences x "
                              "82 columns, contains DLG4_RAT/313-391",
    "PF00595_struct.csv": "PDZ structure truth: i, j (alignment columns), minimum distance in A",
    "ZBED2_400_h3k27ac.h5": "ChIP-seq task: ZBED2 peaks vs H3K27ac background, 400 nt one-hot, "
                            "train/valid/test splits (HDF5 dataset)",
    "jaspar2016_vertebrates.pfm": "JASPAR CORE 2016 vertebrates, 519 matrices (JASPAR format); the "
                                  "motifs the simulated datasets are drawn from",
}


def _folder() -> Path:
    return Path(str(resources.files("seqlens.data")))


def list_data() -> dict[str, str]:
    """The bundled example files, ``{name: one-line description}``, sorted by name."""
    return {name: text for name, text in sorted(DESCRIPTIONS.items()) if (_folder() / name).is_file()}


def data_path(name: str) -> Path:
    """Absolute path of a bundled data file, e.g. ``data_path("ZBED2_400_h3k27ac.h5")``; raises
    ``FileNotFoundError`` naming the available files for any other name."""
    available = list_data()
    if name not in available:
        raise FileNotFoundError(f"no bundled data file {name!r}; available: {', '.join(available)}")
    return (_folder() / name).resolve()
