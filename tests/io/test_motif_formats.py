"""Motif files: JASPAR PFM (read) and MEME (read/write)."""

import filecmp
from pathlib import Path

import numpy as np
import pytest

from seqlens.alphabet import PROTEIN
from seqlens.errors import FormatError
from seqlens.io.motifs import read_jaspar, read_meme, write_meme
from seqlens.motifs import Motif

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "seqlens" / "data" / "jaspar2016_vertebrates.pfm"


# ----------------------------------------------------------------------------- JASPAR


def test_read_jaspar_shared_file(shared_data):
    motifs = read_jaspar(shared_data / "genomics" / "pfm_vertebrates.txt")
    assert len(motifs) == 519
    first = motifs[0]
    assert (first.name, first.alt_name, first.width) == ("MA0002.2", "RUNX1", 11)
    assert first.is_counts and first.n_sites == 2000
    np.testing.assert_array_equal(first.counts[:, 0], [287, 496, 696, 521])
    by_id = {m.name: m for m in motifs}
    assert len(by_id) == 519
    sp1 = by_id["MA0079.3"]
    assert sp1.alt_name == "SP1" and sp1.consensus() == "GCCCCGCCCCC"
    assert all(m.matrix.shape[0] == 4 and (m.matrix.sum(axis=0) > 0).all() for m in motifs)


def test_bundled_copy_is_the_shared_file(shared_data):
    assert filecmp.cmp(BUNDLED, shared_data / "genomics" / "pfm_vertebrates.txt", shallow=False)


def test_read_jaspar_bracketless_rows_and_u(tmp_path):
    f = tmp_path / "m.pfm"
    f.write_text(">MA1 name with spaces\nA 1 2\nC 0 0\nG 0 3\nU 4 0\n\n>MA2\nA [ 1 ]\nC [0]\nG [0]\nT [0]\n")
    a, b = read_jaspar(f)
    assert a.alt_name == "name with spaces" and b.alt_name == ""
    np.testing.assert_array_equal(a.counts, [[1, 2], [0, 0], [0, 3], [4, 0]])
    assert b.consensus() == "A"


@pytest.mark.parametrize("text, message", [
    (">MA1 x\nA [ 1 2 ]\nC [ 0 0 ]\nG [ 0 0 ]\n", r"record 'MA1' \(line 1\) lacks rows \['T'\]"),
    (">MA1 x\nA [ 1 2 ]\nC [ 0 0 ]\nG [ 0 0 ]\nT [ 0 ]\n", "rows of unequal length"),
    (">MA1 x\nA [ 1 2 ]\nC [ 0 0 ]\nG [ 0 x ]\nT [ 0 0 ]\n", "line 4: expected"),
    ("A [ 1 ]\n", "line 1: expected '>ID name'"),
    (">\nA [ 1 ]\n", "line 1: empty motif header"),
    (">MA1 x\nA [ 1 0 ]\nC [ 0 0 ]\nG [ 0 0 ]\nT [ 0 0 ]\n", r"record 'MA1'.*column 2 sums to zero"),
    ("\n\n", "no motifs found"),
])
def test_read_jaspar_errors(tmp_path, text, message):
    f = tmp_path / "bad.pfm"
    f.write_text(text)
    with pytest.raises(FormatError, match=message) as info:
        read_jaspar(f)
    assert str(f) in str(info.value)


def test_read_jaspar_binary_file(tmp_path):
    f = tmp_path / "bin.pfm"
    f.write_bytes(b">MA1 x\n\xff\xfe")
    with pytest.raises(FormatError, match="not a text file"):
        read_jaspar(f)


# ----------------------------------------------------------------------------- MEME


def test_meme_round_trip_jaspar(tmp_path):
    motifs = read_jaspar(BUNDLED)[:25]
    path = write_meme(tmp_path / "sub" / "db.meme", motifs, background=[3, 2, 2, 3])
    assert path.exists() and not list(path.parent.glob(".*tmp"))
    back = read_meme(path)
    assert [m.name for m in back] == [m.name for m in motifs]
    assert [m.alt_name for m in back] == [m.alt_name for m in motifs]
    for a, b in zip(motifs, back):
        assert not b.is_counts and b.alphabet.letters == "ACGT"
        np.testing.assert_allclose(b.matrix, a.probabilities(), atol=5e-7)  # 6 decimals written
        assert b.metadata["nsites"] == a.n_sites
        assert b.metadata["background"] == [0.3, 0.2, 0.2, 0.3]
    # a second round trip keeps everything (values within rounding of 6 decimals)
    again = read_meme(write_meme(tmp_path / "again.meme", back, background=back[0].metadata["background"]))
    for a, b in zip(back, again):
        assert (a.name, a.alt_name, a.metadata) == (b.name, b.alt_name, b.metadata)
        np.testing.assert_allclose(b.matrix, a.matrix, atol=1.5e-6)


def test_meme_written_file_layout(tmp_path):
    m = Motif(np.array([[0.5, 1.0], [0.5, 0.0], [0.0, 0.0], [0.0, 0.0]]), name="m1", alt_name="TF",
              metadata={"evalue": 1.5e-3, "url": "http://example.org/m1"})
    text = write_meme(tmp_path / "one.meme", m).read_text()
    lines = text.splitlines()
    assert lines[0] == "MEME version 4"
    assert "ALPHABET= ACGT" in lines and "strands: + -" in lines
    assert "A 0.250000 C 0.250000 G 0.250000 T 0.250000" in lines
    i = lines.index("MOTIF m1 TF")
    assert lines[i + 1] == "letter-probability matrix: alength= 4 w= 2 E= 0.0015"
    assert lines[i + 2:i + 5] == ["0.500000 0.500000 0.000000 0.000000",
                                  "1.000000 0.000000 0.000000 0.000000",
                                  "URL http://example.org/m1"]
    (back,) = read_meme(tmp_path / "one.meme")
    assert back.metadata["url"] == "http://example.org/m1" and back.metadata["evalue"] == 1.5e-3
    assert "nsites" not in back.metadata


def test_meme_readable_by_memelite(tmp_path):
    from memelite.io import read_meme as memelite_read

    motifs = read_jaspar(BUNDLED)[:5]
    write_meme(tmp_path / "x.meme", motifs)
    theirs = memelite_read(str(tmp_path / "x.meme"))
    assert list(theirs) == [f"{m.name} {m.alt_name}" for m in motifs]
    for m, pwm in zip(motifs, theirs.values()):
        np.testing.assert_allclose(pwm, m.probabilities(), atol=5e-7)


def test_meme_protein_and_rna_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    prot = [Motif(rng.dirichlet(np.ones(20), size=6).T, name=f"p{i}", alphabet=PROTEIN) for i in range(3)]
    text = write_meme(tmp_path / "p.meme", prot).read_text()
    assert "ALPHABET= ACDEFGHIKLMNPQRSTVWY" in text and "strands" not in text
    back = read_meme(tmp_path / "p.meme")
    assert all(b.alphabet.name == "PROTEIN" for b in back)
    np.testing.assert_allclose(back[2].matrix, prot[2].probabilities(), atol=5e-7)
    rna = Motif(np.eye(4), name="r", alphabet="RNA")
    (r,) = read_meme(write_meme(tmp_path / "r.meme", rna))
    assert r.alphabet.name == "RNA" and r.consensus() == "ACGU"


MEME_BY_HAND = """\
MEME version 5.5.4

ALPHABET "DNA" DNA-LIKE
A "Adenine" CC0000 ~ T "Thymine" 008000
C "Cytosine" 0000CC ~ G "Guanine" FFB300
N "Any base" = ACGT
END ALPHABET

strands: + -

Background letter frequencies
A 0.29 C 0.21
G 0.21 T 0.29

MOTIF ACGTA MEME-1
log-odds matrix: alength= 4 w= 2 E= 0
 1.0 -1.0 -1.0 -1.0
-1.0 1.0 -1.0 -1.0
letter-probability matrix: alength= 4 w= 2 nsites= 12 E= 3.2e-010

  0.916667  0.000000  0.083333  0.000000
  0.000000  1.000000  0.000000  0.000000
URL http://meme-suite.org

--------------------------------------------------------------------------------
MOTIF second
letter-probability matrix: alength= 4 w= 1
0.1 0.2 0.3 0.4
"""


def test_read_meme_written_by_hand(tmp_path):
    f = tmp_path / "hand.meme"
    f.write_text(MEME_BY_HAND)
    a, b = read_meme(f)
    assert (a.name, a.alt_name, a.width) == ("ACGTA", "MEME-1", 2)
    np.testing.assert_allclose(a.matrix[:, 0], [0.916667, 0, 0.083333, 0])
    assert a.metadata == {"nsites": 12.0, "evalue": 3.2e-10, "background": [0.29, 0.21, 0.21, 0.29],
                          "url": "http://meme-suite.org"}
    assert (b.name, b.alt_name) == ("second", "")
    assert b.consensus() == "T"


@pytest.mark.parametrize("body, line, message", [
    ("MOTIF m\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n0.5 0.5 0.0\n",
     4, "matrix row has 3 values, expected alength= 4"),
    ("MOTIF m\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n0.5 0.5 x 0\n",
     4, "non-numeric matrix row"),
    ("MOTIF m\nletter-probability matrix: alength= 4 w= 3\n0.25 0.25 0.25 0.25\n", 3,
     "file ends after 1 of 3 matrix rows"),
    ("MOTIF m\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n0.5 0.6 0 0\n",
     4, "row sums to 1.1"),
    ("MOTIF m\nletter-probability matrix: alength= 4 w= 1\n0.5 0.6 -0.1 0\n", 2, ">= 0"),
    ("MOTIF m\nletter-probability matrix: alength= 4\n0.25 0.25 0.25 0.25\n", 2, "needs integer 'w='"),
    ("MOTIF m\nletter-probability matrix: alength= 4 w= 0\n", 2, "must be positive"),
    ("MOTIF m\nMOTIF n\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n", 1,
     "motif 'm' has no letter-probability matrix"),
    ("MOTIF\n", 1, "MOTIF line without an identifier"),
    ("letter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n", 1, "before any MOTIF"),
    ("ALPHABET= XYZ\n", 1, "unsupported alphabet"),
    ("ALPHABET= ACGT\nMOTIF m\nletter-probability matrix: alength= 20 w= 1\n" + "0.05 " * 20 + "\n",
     3, "alength= 20 does not match the alphabet ACGT"),
    ("Background letter frequencies\nA 0.3 C 0.2 G 0.2\n\n", 3, r"lack letters \['T'\]"),
    ("Background letter frequencies\nA 0.3 C\n", 2, "'letter value' pairs"),
    ("hello world\n", 1, "unexpected line 'hello world'"),
])
def test_read_meme_errors_name_file_and_line(tmp_path, body, line, message):
    f = tmp_path / "bad.meme"
    f.write_text("MEME version 4\n\n" + body)
    with pytest.raises(FormatError, match=message) as info:
        read_meme(f)
    assert f"{f}, line {line + 2}:" in str(info.value)


def test_read_meme_empty_and_binary(tmp_path):
    f = tmp_path / "empty.meme"
    f.write_text("MEME version 4\n\nALPHABET= ACGT\n")
    with pytest.raises(FormatError, match="no motifs found"):
        read_meme(f)
    g = tmp_path / "bin.meme"
    g.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(FormatError, match="not a text file"):
        read_meme(g)


def test_write_meme_errors_leave_nothing_behind(tmp_path):
    target = tmp_path / "keep.meme"
    target.write_text("old contents")
    dna = Motif(np.eye(4), name="d")
    with pytest.raises(ValueError, match="one file holds one alphabet"):
        write_meme(target, [dna, Motif(np.full((20, 2), 0.05), name="p", alphabet=PROTEIN)])
    with pytest.raises(ValueError, match="single non-empty word"):
        write_meme(target, [Motif(np.eye(4), name="two words")])
    with pytest.raises(ValueError, match="background must be 4"):
        write_meme(target, [dna], background=[0.5, 0.5])
    with pytest.raises(ValueError, match="no motifs"):
        write_meme(target, [])
    assert target.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.meme"]


def test_motif_readers_accept_gzip_and_refuse_broken_gzip(tmp_path):
    import gzip

    f = tmp_path / "m.pfm.gz"
    f.write_bytes(gzip.compress(b">MA1 x\nA [ 1 ]\nC [ 0 ]\nG [ 0 ]\nT [ 0 ]\n"))
    assert read_jaspar(f)[0].consensus() == "A"
    g = tmp_path / "m.meme"  # gzipped without the suffix
    g.write_bytes(gzip.compress(MEME_BY_HAND.encode()))
    assert [m.name for m in read_meme(g)] == ["ACGTA", "second"]
    g.write_bytes(gzip.compress(MEME_BY_HAND.encode())[:-20])
    with pytest.raises(FormatError, match="m.meme: corrupt or truncated gzip file"):
        read_meme(g)
    f.write_bytes(b">MA1 x\nA [ 1 ]\n\xc0")
    with pytest.raises(FormatError, match=r"m.pfm.gz: not a text file \(byte 0xc0 at offset 15 is not"):
        read_jaspar(f)
