"""Property tests: every reader in seqlens.io, given any bytes, returns a result or raises a
SeqlensError naming the file (never a decoder, gzip, pandas, json or h5py traceback).

Each reader gets (a) random bytes, (b) mutations of a valid file (flip, insert, delete bytes,
truncate) and (c) random text built from the format's own tokens. ``SEQLENS_FUZZ_EXAMPLES``
raises the number of examples per property for a longer campaign.
"""

import gzip
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlens.errors import SeqlensError
from seqlens.io.dms import read_dms
from seqlens.io.fasta import read_fasta, read_fasta_onehot
from seqlens.io.hdf5 import Dataset, Split, load_dataset, save_dataset
from seqlens.io.motifs import read_jaspar, read_meme
from seqlens.io.msa import read_msa
from seqlens.io.structures import read_distance_table, structure_distances
from seqlens.io.tables import read_table

FUZZ = settings(max_examples=int(os.environ.get("SEQLENS_FUZZ_EXAMPLES", 60)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PDB = """\
ATOM      1  N   ALA A   5       0.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  ALA A   5       1.458   0.000   0.000  1.00  0.00           C
ATOM      3  C   ALA A   5       2.009   1.420   0.000  1.00  0.00           C
ATOM      4  CB  ALA A   5       1.988  -0.773  -1.199  1.00  0.00           C
ATOM      5  N   GLY A   6       3.332   1.536   0.000  1.00  0.00           N
ATOM      6  CA  GLY A   6       3.988   2.839   0.000  1.00  0.00           C
ATOM      7  C   GLY A   6       5.504   2.693   0.000  1.00  0.00           C
END
"""

CIF = """\
data_x
loop_
_atom_site.group_PDB
_atom_site.id
_atom_site.type_symbol
_atom_site.label_atom_id
_atom_site.label_alt_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_entity_id
_atom_site.label_seq_id
_atom_site.pdbx_PDB_ins_code
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.B_iso_or_equiv
_atom_site.auth_seq_id
_atom_site.auth_asym_id
_atom_site.pdbx_PDB_model_num
ATOM 1 N N  . ALA A ? 1 ? 0.000 0.000  0.000  1.0 0.0 5 A 1
ATOM 2 C CA . ALA A ? 1 ? 1.458 0.000  0.000  1.0 0.0 5 A 1
ATOM 3 C CB . ALA A ? 1 ? 1.988 -0.773 -1.199 1.0 0.0 5 A 1
ATOM 4 N N  . GLY A ? 2 ? 3.332 1.536  0.000  1.0 0.0 6 A 1
ATOM 5 C CA . GLY A ? 2 ? 3.988 2.839  0.000  1.0 0.0 6 A 1
ATOM 6 C C  . GLY A ? 2 ? 5.504 2.693  0.000  1.0 0.0 6 A 1
"""

MEME = """\
MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.3 C 0.2 G 0.2 T 0.3

MOTIF m1 TF
letter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0.01
0.5 0.5 0.0 0.0
0.1 0.2 0.3 0.4
URL http://example.org
"""

# name -> (file name, reader, valid text, tokens for random text)
TEXT_READERS = {
    "fasta": ("x.fa", read_fasta_onehot, ">s1 desc\nACGTACGT\nAC\n>s2\nACGTNNGTAC\n",
              [">", "\n", "ACGT", ";"]),
    "fasta_gz": ("x.fa.gz", read_fasta, ">s1\nACGT\n>s2\nACGA\n", [">", "\n", "ACGT"]),
    "msa_fasta": ("x.fasta", read_msa, ">q\nAC-DE\n>s1\nA-CDE\n>s2\nACDE-\n", [">", "\n", "AC", "-", "."]),
    "msa_a2m": ("x.a2m", read_msa, ">q\nMKV.L\n>s\nMkV-L\n>t\nM-VaL\n", [">", "\n", "MK", "kv", "-", "."]),
    "msa_a3m": ("x.a3m", read_msa, "#171 1\n>q\nMKVL\n>s\nMkkKVL\n>t\nM-aaVL\n", ["#", ">", "\n", "MK", "k"]),
    "msa_sto": ("x.sto", read_msa, "# STOCKHOLM 1.0\n#=GF ID x\ns1 AC.D\ns2 A-GD\n\ns1 EF\ns2 E.\n//\n",
                ["# STOCKHOLM 1.0\n", "#=GC ", "s1 ", "\n", "//", "AC", "."]),
    "msa_aln": ("x.aln", read_msa, ">q\nAC-DE\n>s1\nA-CDE\n", [">", "\n", "AC", "-"]),
    "msa_plain": ("x.txt", read_msa, "ACD\nA-D\n", ["\n", "AC", "-", "#"]),
    "table_csv": ("x.csv", read_table, "id,sequence,y1,y2\nx,ACGT,1,0.5\nz,TTGA,0,1.5\n",
                  [",", "\n", "sequence", "ACGT", "1", "nan", '"']),
    "table_tsv": ("x.tsv", read_table, "sequence\ty\nACGT\t1\nACGA\t0\n",
                  ["\t", "\n", "sequence", "AC", "2e9"]),
    "dms": ("x.csv", read_dms, "mutant,DMS_score\nA1C,0.5\nA1D:G2A,-1\n",
            [",", "\n", "mutant", "DMS_score", "A1C", "inf", '"', ":"]),
    "distances_csv": ("d.csv", read_distance_table, "i,j,dist\n1,2,3.5\n1,3,8.2\n",
                      [",", "\n", "i,j,dist", "1", "2.5", "nan", "-"]),
    "distances_txt": ("d.txt", read_distance_table, "1 2 0.9 3.5\n1 3 0.1 8.2\n",
                      [" ", "\n", "1", "3.5", "#", "1e99"]),
    "pdb": ("x.pdb", structure_distances, PDB,
            ["ATOM  ", "MODEL        1\n", "ENDMDL\n", "\n", " CA ", "1.0"]),
    "mmcif": ("x.cif", structure_distances, CIF, ["loop_\n", "_atom_site.", "ATOM", " ", "\n", "?", "."]),
    "meme": ("x.meme", read_meme, MEME, ["MOTIF m ", "letter-probability matrix: alength= 4 w= 1\n", "0.25 ",
                                         "\n", "ALPHABET= ACGT\n", "Background letter frequencies\n"]),
    "jaspar": ("x.pfm", read_jaspar, ">MA1 x\nA [ 1 2 ]\nC [ 0 1 ]\nG [ 3 0 ]\nT [ 0 1 ]\n",
               [">MA1 x\n", "A [ ", "C ", "G ", "T ", "] ", "1 ", "\n"]),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _bytes(name: str, text: str) -> bytes:
    data = text.encode()
    return gzip.compress(data, mtime=0) if name.endswith(".gz") else data


def check(reader, path: Path, data: bytes):
    """Write ``data`` to ``path`` and read it: a result, or a SeqlensError naming the file."""
    path.write_bytes(data)
    try:
        return reader(path)
    except SeqlensError as exc:
        message = str(exc)
        assert str(path) in message, message
        assert "\n" not in message.strip(), message


@st.composite
def mutations(draw, valid: bytes, tokens: list[bytes]):
    """``valid`` with 1-8 random edits: bit flips, inserted bytes or tokens, deletions, a cut."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "token", "delete", "truncate"]))
        if op == "flip" and i < len(data):
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "token":
            data[i:i] = draw(st.sampled_from(tokens))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[i:]
    return bytes(data)


def texts(tokens: list[str]):
    """Random text made of the format's tokens and arbitrary short strings."""
    return st.lists(st.sampled_from(tokens) | st.text(max_size=5), max_size=40).map("".join)


@pytest.mark.filterwarnings("ignore:.*duplicate record name")
@pytest.mark.parametrize("kind", sorted(TEXT_READERS))
class TestTextReaders:
    @FUZZ
    @given(data=st.binary(max_size=400))
    def test_random_bytes(self, folder, kind, data):
        name, reader, _, _ = TEXT_READERS[kind]
        check(reader, folder / name, data)

    @FUZZ
    @given(data=st.data())
    def test_mutated_valid_file(self, folder, kind, data):
        name, reader, valid, tokens = TEXT_READERS[kind]
        assert check(reader, folder / name, _bytes(name, valid)) is not None  # the seed is valid
        text_tokens = [t.encode() for t in tokens]
        # mutate the bytes on disk (for .gz: the compressed stream) and the text inside a .gz
        check(reader, folder / name, data.draw(mutations(_bytes(name, valid), text_tokens)))
        if name.endswith(".gz"):
            inner = data.draw(mutations(valid.encode(), text_tokens))
            check(reader, folder / name, gzip.compress(inner))

    @FUZZ
    @given(data=st.data())
    def test_random_text(self, folder, kind, data):
        name, reader, _, tokens = TEXT_READERS[kind]
        check(reader, folder / name, _bytes(name, data.draw(texts(tokens))))


# ----------------------------------------------------------------------------- HDF5


@pytest.fixture(scope="module")
def valid_h5(folder) -> bytes:
    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 6))].transpose(0, 2, 1)
        return Split(X, rng.integers(0, 2, (n, 1)).astype(np.int8), np.full_like(X, 0.25))

    ds = Dataset(split(3), split(2), split(2), metadata={"name": "toy"},
                 extras={"names_test": np.arange(2)})
    return save_dataset(folder / "valid.h5", ds, compression=None).read_bytes()


@FUZZ
@given(data=st.binary(max_size=2000))
def test_hdf5_random_bytes(folder, data):
    check(load_dataset, folder / "x.h5", data)


# Bit rot and truncation only, with a fixed seed: libhdf5 (2.0.0) itself can spin forever on
# some corrupt global heaps (bytes inserted into a variable-length string attribute), which no
# reader can guard against short of a subprocess.
@settings(FUZZ, derandomize=True)
@given(data=st.data())
def test_hdf5_mutated_valid_file(folder, valid_h5, data):
    raw = bytearray(valid_h5)
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw))):]
    check(load_dataset, folder / "x.h5", bytes(raw))


ARRAYS = st.one_of(
    st.just(None),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=24).map(
        lambda v: np.array(v, dtype=np.float32)),
    st.sampled_from([np.zeros((2, 4, 3), np.float32), np.zeros((3, 4, 3)), np.zeros(2, np.int64),
                     np.zeros((2, 1), bool), np.array([b"a", b"b"]), np.array(7.0), np.zeros((2, 4, 3, 1))]),
)


@FUZZ
@given(arrays=st.fixed_dictionaries({k: ARRAYS for k in ("X_train", "Y_train", "model_train", "extra")}),
       metadata=st.one_of(st.none(), st.text(st.characters(exclude_characters="\x00"), max_size=20),
                          st.just('{"a": 1}'), st.just("[1]")))
def test_hdf5_random_layouts(folder, arrays, metadata):
    path = folder / "layout.h5"
    with h5py.File(path, "w") as fh:
        for key, value in arrays.items():
            if value is not None:
                if key[0] in "Xm" and value.ndim == 1 and value.size % 12 == 0:
                    value = value.reshape(-1, 4, 3)
                fh[key] = value
        if metadata is not None:
            fh.attrs["metadata"] = metadata
    try:
        load_dataset(path, splits=("train",))
    except SeqlensError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
