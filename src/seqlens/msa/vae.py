"""Variational autoencoder of an MSA (DeepSequence-style, sized for a CPU).

Sequences are one-hot ``(L, q)`` with the gap as a state. The encoder MLP maps the flattened
one-hot to the mean and log-variance of a Gaussian latent ``z`` (size ~30); the decoder MLP maps
``z`` to per-position logits ``(L, q)``. The output layer is either dense or, as in DeepSequence,
low-rank over the alphabet (``W[h, i, :] = S[h, i, :] @ D`` with a ``(rank, q)`` dictionary ``D``)
with a learned per-position scale (softplus "temperature").

Training maximises the ELBO ``E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I))`` on minibatches drawn
with probability proportional to the sequence weights, ``beta`` annealed linearly from 0 to 1
(KL annealing), L2 on the decoder weights (a stand-in for DeepSequence's Bayesian decoder), and
early stopping on the ELBO of a held-out, weighted validation split.

Mutation effects are ``ELBO(mutant) - ELBO(wild type)`` averaged over ``n_samples`` latent draws
with common random numbers (same ``eps`` for the wild type and every mutant), deterministic for a
given ``random_state``. Contacts come from the pairwise saliency: the Jacobian of the decoder
logits (through the encoder mean) with respect to the input one-hot, averaged over natural
sequences, Frobenius norm over residue states, symmetrised, then APC.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from seqlens.errors import ParameterError
from seqlens.msa.alignment import Alignment
from seqlens.msa.models import MSAModel, ThreadLimitedFit, resolve_device


class _VAENet(nn.Module):
    def __init__(self, L: int, q: int, latent_dim: int, encoder_sizes, decoder_sizes,
                 output: str, rank: int, dropout: float):
        super().__init__()
        self.L, self.q = L, q
        layers, d = [], L * q
        for s in encoder_sizes:
            layers += [nn.Linear(d, s), nn.ReLU()]
            d = s
        self.encoder = nn.Sequential(*layers)
        self.mu = nn.Linear(d, latent_dim)
        self.logvar = nn.Linear(d, latent_dim)
        layers, d = [], latent_dim
        for k, s in enumerate(decoder_sizes):
            act = nn.Sigmoid() if k == len(decoder_sizes) - 1 else nn.ReLU()
            layers += [nn.Linear(d, s), act]
            if dropout:
                layers.append(nn.Dropout(dropout))
            d = s
        self.decoder = nn.Sequential(*layers)
        self.output = output
        if output == "lowrank":
            self.W = nn.Parameter(torch.randn(d, L, rank) * math.sqrt(1.0 / d))
            self.D = nn.Parameter(torch.randn(rank, q) * math.sqrt(1.0 / rank))
            self.scale = nn.Parameter(torch.zeros(L))
            self.bias = nn.Parameter(torch.zeros(L, q))
        else:
            self.out = nn.Linear(d, L * q)
        with torch.no_grad():
            self.logvar.bias.fill_(-5.0)

    def encode(self, x):
        hid = self.encoder(x.reshape(x.shape[0], -1))
        return self.mu(hid), self.logvar(hid).clamp(-12, 6)

    def decode(self, z):
        hid = self.decoder(z)
        if self.output == "lowrank":
            Wfull = torch.einsum("hic,ca->hia", self.W, self.D)
            logits = torch.einsum("bh,hia->bia", hid, Wfull)
            return logits * nn.functional.softplus(self.scale)[None, :, None] / math.log(2) + self.bias
        return self.out(hid).view(-1, self.L, self.q)

    def decoder_l2(self):
        tot = sum((p * p).sum() for n, p in self.decoder.named_parameters() if n.endswith("weight"))
        if self.output == "lowrank":
            return tot + (self.W * self.W).sum() + (self.D * self.D).sum()
        return tot + (self.out.weight * self.out.weight).sum()


def _one_hot(X: torch.Tensor, q: int) -> torch.Tensor:
    return nn.functional.one_hot(X.long(), q).float()


class VAE(ThreadLimitedFit, MSAModel):
    """DeepSequence-style VAE of an alignment.

    Parameters
    ----------
    latent_dim : size of ``z``.
    encoder_sizes, decoder_sizes : hidden layer widths (the last decoder layer is sigmoid).
    output : ``"lowrank"`` (alphabet dictionary of ``rank`` + per-position scale) or ``"dense"``.
    rank : dictionary size of the low-rank output.
    dropout : dropout in the decoder.
    l2 : L2 strength on decoder weights, per training sequence (added as ``l2 * ||W||^2 / Neff``).
    batch_size, lr : Adam minibatches (drawn with probability proportional to the weights).
    max_steps : maximum optimisation steps; ``max_seconds`` stops earlier on wall time.
    kl_anneal_steps : steps over which ``beta`` rises linearly from 0 to 1.
    val_fraction : held-out fraction for early stopping (0: none).
    eval_every, patience : validation every ``eval_every`` steps; stop after ``patience``
        evaluations without improvement (best weights are restored).
    n_samples : latent draws for :meth:`elbo` / :meth:`delta_elbo` by default.
    identity : sequence-weight identity threshold.
    device, random_state, verbose : as everywhere. n_threads : torch and numba threads for the
        fit (None: leave as set; on busy shared machines 1 is much faster than 2).

    Attributes: ``net_`` (the torch module), ``history_`` (DataFrame: step, beta, train_elbo,
    val_elbo), ``n_steps_``, ``fit_seconds_``, ``neff_``, ``columns_``, ``alphabet_``, ``q_``.
    """

    def __init__(self, latent_dim: int = 30, encoder_sizes=(512, 256), decoder_sizes=(100, 500),
                 output: str = "lowrank", rank: int = 40, dropout: float = 0.0, l2: float = 1.0,
                 batch_size: int = 128, lr: float = 1e-3, max_steps: int = 20000,
                 max_seconds: float | None = None, kl_anneal_steps: int = 2000,
                 val_fraction: float = 0.05, eval_every: int = 500, patience: int = 6,
                 n_samples: int = 100, identity: float | None = 0.8, device=None,
                 random_state=0, verbose: bool = False, n_threads: int | None = None):
        self.latent_dim = latent_dim
        self.encoder_sizes = tuple(encoder_sizes)
        self.decoder_sizes = tuple(decoder_sizes)
        self.output = output
        self.rank = rank
        self.dropout = dropout
        self.l2 = l2
        self.batch_size = batch_size
        self.lr = lr
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.kl_anneal_steps = kl_anneal_steps
        self.val_fraction = val_fraction
        self.eval_every = eval_every
        self.patience = patience
        self.n_samples = n_samples
        self.identity = identity
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    # ------------------------------------------------------------------ fit
    def _build(self, L: int, q: int) -> _VAENet:
        if self.output not in ("lowrank", "dense"):
            raise ParameterError(f"VAE: output must be 'lowrank' or 'dense', got {self.output!r}")
        return _VAENet(L, q, self.latent_dim, self.encoder_sizes, self.decoder_sizes, self.output,
                       self.rank, self.dropout)

    def _fit(self, msa: Alignment) -> VAE:
        """Train on an :class:`Alignment` (gap = a state). Returns self."""
        import pandas as pd

        t0 = time.perf_counter()
        device = resolve_device(self.device)
        torch.manual_seed(int(self.random_state))
        gen = torch.Generator().manual_seed(int(self.random_state))
        rng = np.random.default_rng(self.random_state)
        N, L = msa.X.shape
        q = msa.q
        w = msa.weights(self.identity).astype(np.float64)
        idx = rng.permutation(N)
        n_val = int(round(self.val_fraction * N)) if self.val_fraction else 0
        val, train = idx[:n_val], idx[n_val:]
        Xt = torch.from_numpy(msa.X[train].astype(np.int64)).to(device)
        wt = torch.tensor(w[train], dtype=torch.float64)
        Xv = torch.from_numpy(msa.X[val].astype(np.int64)).to(device)
        wv = torch.tensor(w[val], dtype=torch.float32, device=device)
        neff = float(w[train].sum())
        net = self._build(L, q).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        best, best_state, bad = -np.inf, None, 0
        hist = []
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_steps, desc="VAE")
        run_elbo = None
        step = 0
        for step in range(1, self.max_steps + 1):
            net.train()
            sel = torch.multinomial(wt, self.batch_size, replacement=True, generator=gen).to(device)
            x = _one_hot(Xt[sel], q)
            beta = min(1.0, step / max(1, self.kl_anneal_steps))
            mu, logvar = net.encode(x)
            eps = torch.randn(mu.shape, generator=gen).to(device)
            z = mu + torch.exp(0.5 * logvar) * eps
            logp = torch.log_softmax(net.decode(z), -1)
            rec = (logp * x).sum((1, 2))
            kl = 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum(1)
            loss = -(rec - beta * kl).mean() + self.l2 * net.decoder_l2() / neff
            opt.zero_grad()
            loss.backward()
            opt.step()
            e = float((rec - kl).mean().detach())
            run_elbo = e if run_elbo is None else 0.98 * run_elbo + 0.02 * e
            if bar is not None:
                bar.update(1)
            timed_out = self.max_seconds is not None and time.perf_counter() - t0 > self.max_seconds
            if step % self.eval_every == 0 or step == self.max_steps or timed_out:
                v = float("nan")
                if n_val:
                    net.eval()
                    with torch.no_grad():
                        ev = self._elbo_codes(net, Xv, q, n_samples=1, seed=0)
                        v = float((ev * wv).sum() / wv.sum())
                hist.append((step, beta, run_elbo, v))
                if bar is not None:
                    bar.set_postfix(train=f"{run_elbo:.1f}", val=f"{v:.1f}")
                if n_val and beta >= 1.0:
                    if v > best:
                        best, bad = v, 0
                        best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
                    else:
                        bad += 1
                        if bad >= self.patience:
                            break
            if timed_out:
                break
        if bar is not None:
            bar.close()
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net
        self.q_ = q
        self.history_ = pd.DataFrame(hist, columns=["step", "beta", "train_elbo", "val_elbo"])
        self.n_steps_ = step
        self.neff_ = float(w.sum())
        self.columns_ = msa.columns.copy()
        self.alignment_width_ = msa.width
        self.alphabet_ = msa.alphabet
        self.gap_code_ = msa.gap_code
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ ELBO
    @staticmethod
    def _elbo_codes(net, X: torch.Tensor, q: int, n_samples: int, seed: int,
                    batch_size: int = 512) -> torch.Tensor:
        """``(N,)`` ELBO averaged over ``n_samples`` draws; draw ``s`` uses the same ``eps`` for
        every sequence (common random numbers)."""
        gen = torch.Generator().manual_seed(int(seed))
        k = net.mu.out_features
        eps = torch.randn(n_samples, k, generator=gen).to(X.device)
        out = []
        for start in range(0, X.shape[0], batch_size):
            x = _one_hot(X[start:start + batch_size], q)
            mu, logvar = net.encode(x)
            kl = 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum(1)
            std = torch.exp(0.5 * logvar)
            rec = torch.zeros(x.shape[0], device=X.device)
            for s in range(n_samples):
                z = mu + std * eps[s]
                logp = torch.log_softmax(net.decode(z), -1)
                rec += (logp * x).sum((1, 2))
            out.append(rec / n_samples - kl)
        return torch.cat(out)

    def elbo(self, X: np.ndarray, n_samples: int | None = None, random_state=None) -> np.ndarray:
        """``(N,)`` ELBO of coded rows (``(N, L)`` codes, gap = ``q - 1``)."""
        self._check_fitted()
        seed = self.random_state if random_state is None else random_state
        Xt = torch.from_numpy(np.asarray(X, dtype=np.int64)).to(next(self.net_.parameters()).device)
        with torch.no_grad():
            return self._elbo_codes(self.net_, Xt, self.q_, n_samples or self.n_samples,
                                    seed).cpu().numpy().astype(np.float64)

    def _score_codes(self, X: np.ndarray) -> np.ndarray:
        return self.elbo(X)

    def delta_elbo(self, X_mut: np.ndarray, wildtype: np.ndarray | None = None,
                   n_samples: int | None = None, random_state=None) -> np.ndarray:
        """``ELBO(mutant) - ELBO(wild type)`` for coded mutant rows (wild type: the focus)."""
        self._check_fitted()
        if wildtype is None:
            letters = self.alphabet_.letters
            wildtype = np.array([letters.index(c) for c in self.columns_["focus_letter"]])
        X = np.vstack([np.asarray(wildtype)[None], np.asarray(X_mut)])
        e = self.elbo(X, n_samples, random_state)
        return e[1:] - e[0]

    def _delta_codes(self, wt: np.ndarray, mut: np.ndarray) -> np.ndarray:
        return self.delta_elbo(mut, wt[0])

    # ------------------------------------------------------------------ sampling, contacts
    def sample(self, n: int, random_state=None, temperature: float = 1.0) -> list[str]:
        """Ancestral sampling: ``z ~ N(0, I)``, then each position from ``softmax(logits / T)``."""
        self._check_fitted()
        seed = self.random_state if random_state is None else random_state
        gen = torch.Generator().manual_seed(int(seed))
        dev = next(self.net_.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, n, 1024):
                m = min(1024, n - start)
                z = torch.randn(m, self.latent_dim, generator=gen).to(dev)
                p = torch.softmax(self.net_.decode(z) / temperature, -1).cpu()
                x = torch.multinomial(p.reshape(-1, self.q_), 1, generator=gen).reshape(m, -1)
                out.append(x.numpy())
        return self._decode(np.concatenate(out))

    def saliency_couplings(self, X: np.ndarray, max_sequences: int = 64) -> np.ndarray:
        """``(L, q, L, q)`` mean Jacobian ``d logit_i(a) / d x_j(b)`` of decoder logits (through
        the encoder mean) over up to ``max_sequences`` coded rows; diagonal blocks zeroed."""
        self._check_fitted()
        net = self.net_
        L, q = len(self.columns_), self.q_
        dev = next(net.parameters()).device
        Xt = torch.from_numpy(np.asarray(X[:max_sequences], dtype=np.int64)).to(dev)

        def f(x):
            mu, _ = net.encode(x[None])
            return net.decode(mu)[0]

        total = torch.zeros(L, q, L, q)
        for x in _one_hot(Xt, q):
            total += torch.func.jacrev(f)(x).detach().cpu()
        J = (total / len(Xt)).numpy()
        for i in range(L):
            J[i, :, i, :] = 0.0
        return J

    def contacts(self, X: np.ndarray | None = None, apc: bool = True,
                 max_sequences: int = 64) -> np.ndarray:
        """``(L, L)`` pairwise-saliency contact scores (Frobenius over residue states of the
        symmetrised Jacobian, then APC). ``X``: coded rows to average over (default: ancestral
        samples of the model)."""
        from seqlens.msa.contacts import frobenius

        if X is None:
            codes = {c: i for i, c in enumerate(self.alphabet_.letters)}
            X = np.array([[codes[c] for c in s] for s in self.sample(max_sequences)])
        J = self.saliency_couplings(X, max_sequences)
        A = self.q_ - 1
        J = J[:, :A, :, :A]
        J = 0.5 * (J + J.transpose(2, 3, 0, 1))
        return frobenius(J, apc=apc)

    def n_parameters(self) -> int:
        self._check_fitted()
        return int(sum(p.numel() for p in self.net_.parameters()))
