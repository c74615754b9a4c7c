"""Variant windows (exact letters for SNV, insertion, deletion, chromosome ends), REF checks, and
the VCF / offset-table readers."""

import gzip

import numpy as np
import pytest

from seqlens.errors import FormatError, SequenceError
from seqlens.genome.reference import Genome
from seqlens.genome.variants import (
    Sequences,
    check_variant,
    encode_windows,
    variant_window,
    variant_windows,
)
from seqlens.io.vcf import Variant, read_variant_table, read_variants, read_vcf

CHR1 = "ACGTACGTAA" "CCGGTTAACC" "GATTACAGAT" "TACAGGGCCC"  # 40 letters
CHR2 = "TTTTTGGGGG"


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "toy.fa"
    path.write_text(f">chr1\n{CHR1[:25]}\n{CHR1[25:]}\n>chr2\n{CHR2}\n")
    with Genome(path) as g:
        yield g


def _v(pos, ref, alt, chrom="chr1"):
    return Variant(chrom, pos, ref, alt, "rs1", "test.vcf, line 3")


def test_snv_windows_differ_only_at_the_centre(genome):
    # pos 21 (1-based) is CHR1[20] = "G"; L = 10 -> window CHR1[15:25], the SNV at offset 5
    w = variant_window(genome, _v(21, "G", "C"), 10)
    assert w.ref == CHR1[15:25] == "TAACCGATTA"
    assert w.alt == "TAACCCATTA"
    assert (w.ref_offset, w.alt_offset, w.padded) == (5, 5, False)
    # odd length: h = 4, the SNV at offset 4
    w = variant_window(genome, _v(21, "G", "T"), 9)
    assert w.ref == CHR1[16:25] and w.alt == CHR1[16:20] + "T" + CHR1[21:25]


def test_insertion_trims_both_flanks_symmetrically(genome):
    # insertion of 3 letters after the anchor G (d = 3): 1 letter trimmed left, 2 right
    w = variant_window(genome, _v(21, "G", "GTTT"), 10)
    assert w.ref == CHR1[15:25]
    assert w.alt == CHR1[16:20] + "GTTT" + CHR1[21:23]
    assert len(w.alt) == 10 and w.alt_offset == 4
    # insertion of 1: nothing trimmed on the left, 1 on the right
    w = variant_window(genome, _v(21, "G", "GA"), 10)
    assert w.alt == CHR1[15:20] + "GA" + CHR1[21:24] and w.alt_offset == 5


def test_deletion_extends_both_flanks_from_the_genome(genome):
    # deletion of 3 letters after the anchor G (REF GATT, ALT G, d = -3): 1 more letter left, 2 right
    assert CHR1[20:24] == "GATT"
    w = variant_window(genome, _v(21, "GATT", "G"), 10)
    assert w.ref == CHR1[15:25]
    assert w.alt == CHR1[14:20] + "G" + CHR1[24:27]
    assert len(w.alt) == 10 and w.alt_offset == 6 and not w.padded


def test_windows_past_the_chromosome_end_are_padded_with_n(genome):
    w = variant_window(genome, _v(2, "C", "G"), 10)  # CHR1[1]; window starts at -4
    assert w.ref == "NNNN" + CHR1[:6] and w.alt == "NNNNAG" + CHR1[2:6] and w.padded
    w = variant_window(genome, _v(9, "G", "A", "chr2"), 6)  # chr2 has 10 letters
    assert w.ref == CHR2[5:] + "N" and w.padded
    X_ref, X_alt = encode_windows([w])  # N: all-zero columns, as seqlens dataset stores them
    assert X_ref.shape == (1, 4, 6) and np.allclose(X_ref[0, :, -1], 0) and X_ref[0, :, :-1].sum() == 5
    assert np.allclose(encode_windows([w], "uniform")[0][0, :, -1], 0.25)


def test_ref_mismatch_and_unknown_chromosome_name_file_line_and_value(genome):
    with pytest.raises(SequenceError, match=r"test\.vcf, line 3: REF 'A' does not match the genome "
                                            r".*toy\.fa, which has 'G' at chr1:21"):
        check_variant(genome, _v(21, "A", "C"))
    with pytest.raises(SequenceError, match=r"test\.vcf, line 3: chromosome 'chrX' is not in .*toy\.fa"):
        variant_windows(genome, [_v(21, "G", "C"), _v(5, "A", "C", "chrX")], 10)
    with pytest.raises(SequenceError, match="runs past the end of chr2"):
        check_variant(genome, _v(10, "GA", "G", "chr2"))
    with pytest.raises(SequenceError, match="too long for a 10-letter window"):
        variant_window(genome, _v(21, "G", "G" + "A" * 12), 10)
    check_variant(genome, _v(21, "N", "C"))  # N matches any letter


VCF = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=40>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr1\t21\trs1\tG\tC,T\t.\tPASS\t.
chr1\t21\t.\tg\tgttt\t.\t.\t.
chr1\t24\trs3\tT\t<DEL>\t.\t.\t.
chr2\t3\trs4\tTTG\tT,*\t.\t.\t.
"""


def test_read_vcf_splits_alleles_skips_symbolic_and_reads_gzip(tmp_path):
    path = tmp_path / "v.vcf.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(VCF)
    with pytest.warns(UserWarning, match=r"skipped 2 symbolic ALT allele\(s\).*'<DEL>' on line 6"):
        variants = read_variants(path)
    assert [(v.chrom, v.pos, v.ref, v.alt, v.id) for v in variants] == [
        ("chr1", 21, "G", "C", "rs1"), ("chr1", 21, "G", "T", "rs1"), ("chr1", 21, "G", "GTTT", ""),
        ("chr2", 3, "TTG", "T", "rs4")]
    assert [v.kind for v in variants] == ["snv", "snv", "insertion", "deletion"]
    assert variants[2].source == f"{path}, line 5"


@pytest.mark.parametrize("line,message", [
    ("chr1\t21\trs1\tG", "needs CHROM, POS, ID, REF and ALT columns"),
    ("chr1\tx21\trs1\tG\tC", r"line 2: POS 'x21' is not a 1-based position"),
    ("chr1\t0\trs1\tG\tC", "POS '0'"),
    ("chr1\t21\trs1\tG\tCZ", r"line 2: ALT 'CZ' is not a sequence of A, C, G, T, N"),
    ("chr1\t21\trs1\t.\tC", r"REF '\.'"),
])
def test_read_vcf_refuses_bad_lines(tmp_path, line, message):
    path = tmp_path / "bad.vcf"
    path.write_text(f"#CHROM\tPOS\tID\tREF\tALT\n{line}\n")
    with pytest.raises(FormatError, match=message):
        read_vcf(path)


def test_offset_table_without_a_genome(tmp_path):
    seqs = tmp_path / "seqs.fa.gz"  # plain gzip: read into memory, no index needed
    with gzip.open(seqs, "wt") as fh:
        fh.write(">s1\nAAAAACAAAA\n>s2\nGGGGGTGGGG\n")
    table = tmp_path / "offsets.tsv"
    table.write_text("name\toffset\tref\talt\tid\ns1\t5\tC\tG\tv1\ns2\t5\tT\tTAA\tv2\n")
    variants = read_variants(table)
    assert [(v.chrom, v.pos, v.ref, v.alt, v.id) for v in variants] == [
        ("s1", 6, "C", "G", "v1"), ("s2", 6, "T", "TAA", "v2")]
    w1, w2 = variant_windows(Sequences(seqs), variants, 10)
    assert (w1.ref, w1.alt) == ("AAAAACAAAA", "AAAAAGAAAA")
    assert (w2.ref, w2.alt) == ("GGGGGTGGGG", "GGGG" + "TAA" + "GGG")  # d = 2: one letter off each end
    with pytest.raises(SequenceError, match=r"line 2: chromosome 's3' is not in .*seqs\.fa\.gz"):
        variant_windows(Sequences(seqs), [Variant("s3", 1, "A", "C", "", "t.tsv, line 2")], 10)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,offset,ref,alt\ns1,-1,C,G\n")
    with pytest.raises(FormatError, match=r"bad\.csv, line 2: offset '-1'"):
        read_variant_table(bad)
    with pytest.raises(FormatError, match=r"needs columns name, offset, ref, alt; missing \['offset'\]"):
        (tmp_path / "c.csv").write_text("name,pos,ref,alt\ns1,1,A,C\n")
        read_variant_table(tmp_path / "c.csv")


def test_variant_effects_of_profile_models_and_refused_outputs():
    import torch

    from seqlens.errors import ParameterError
    from seqlens.interpret.variants import variant_effects
    from seqlens.models import build_model

    torch.manual_seed(0)
    model = build_model("bpnet", seq_length=30, output_length=20, n_outputs=2, filters=4, n_layers=2,
                        kernel_size=5, profile_kernel=5, random_state=0)
    X = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 30))].transpose(0, 2, 1)
    alt = X.copy()
    alt[0, :, 15] = np.roll(alt[0, :, 15], 1)  # one SNV in the first window only
    eff = variant_effects(model, X, alt, device="cpu")
    with torch.no_grad():
        want = model(torch.as_tensor(alt)).counts - model(torch.as_tensor(X)).counts
    assert eff.effect.shape == (3, 2) and np.allclose(eff.effect, want.numpy(), atol=1e-6)
    assert eff.profile_jsd.shape == (3, 2) and eff.profile_jsd[0].min() > 0
    assert np.allclose(eff.profile_jsd[1:], 0, atol=1e-6) and np.allclose(eff.effect[1:], 0)
    with pytest.raises(ParameterError, match="rc averaging is not available for profile models"):
        variant_effects(model, X, alt, rc=True, device="cpu")

    class Dict(torch.nn.Module):
        def forward(self, x):
            return {"a": x.sum((1, 2))}

    with pytest.raises(ParameterError, match="the model returns a dict"):
        variant_effects(Dict(), X, alt, device="cpu")


def test_profile_jsd_is_compared_on_aligned_positions():
    from seqlens.interpret.variants import aligned_jsd

    ref = np.full((2, 1, 20), 1e-9)
    ref[:, 0, 10] = 1.0
    alt = np.full((2, 1, 20), 1e-9)
    alt[:, 0, 11] = 1.0  # a deletion of 2: the alternate window starts one letter earlier
    assert np.allclose(aligned_jsd(ref, alt, [-1, -1]), 0, atol=1e-3)
    assert np.allclose(aligned_jsd(ref, alt, None), 1, atol=1e-3)  # unaligned: disjoint peaks
    w = variant_window(_Toy(), _v(21, "GAT", "G"), 10)
    assert w.ref_offset - w.alt_offset == -1


class _Toy:
    chrom_sizes = {"chr1": len(CHR1)}

    @staticmethod
    def fetch(chrom, start, end, source=None):
        return CHR1[start:end]
