"""Planted attribution maps shared by the motif-discovery tests."""

import numpy as np

MOTIF = "GATTACAG"  # not its own reverse complement
WEIGHTS = np.array([1.0, 2.0, 1.5, 0.5, 2.0, 1.0, 1.5, 1.0])


def onehot(seqs: list[str]) -> np.ndarray:
    idx = np.array([["ACGT".index(c) for c in s] for s in seqs])
    return np.eye(4, dtype=np.float32)[idx].transpose(0, 2, 1)


def revcomp(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def planted(n=60, L=80, seed=0, noise=0.02):
    """Random sequences, each with MOTIF (even rows) or its reverse complement (odd rows) at a
    random position, and hypothetical contributions a model reading MOTIF would give: the
    motif's weight on the motif's letter at each motif position, small noise elsewhere."""
    rng = np.random.default_rng(seed)
    seqs, starts, strands = [], [], []
    attr = rng.normal(0, noise, (n, 4, L)).astype(np.float32)
    for i in range(n):
        s = list(rng.choice(list("ACGT"), L))
        st = int(rng.integers(2, L - len(MOTIF) - 2))
        site = MOTIF if i % 2 == 0 else revcomp(MOTIF)
        s[st:st + len(MOTIF)] = site
        w = WEIGHTS if i % 2 == 0 else WEIGHTS[::-1]
        for j, c in enumerate(site):
            attr[i, "ACGT".index(c), st + j] += w[j]
        seqs.append("".join(s))
        starts.append(st)
        strands.append(1 if i % 2 == 0 else -1)
    return attr, onehot(seqs), np.array(starts), np.array(strands)


# ------------------------------------------------------------------------------------- seqlets
