"""Limited-memory BFGS on flat numpy vectors, with a strong-Wolfe line search, using little memory.

:func:`minimize` is the textbook method (Nocedal & Wright, *Numerical Optimization*, 2nd ed.):
the search direction is ``-H g`` for the L-BFGS matrix ``H`` of the last ``m`` pairs
``s = x_new - x``, ``y = g_new - g`` with the initial scaling ``H0 = (s.y / y.y) I`` (eq. 7.20),
and the step length comes from a line search for the strong Wolfe conditions (Alg. 3.5, with the
"zoom" phase of Alg. 3.6 and safeguarded cubic interpolation, eq. 3.59). A pair with too little
curvature is not stored; when no step along an L-BFGS direction decreases the objective, the
history is dropped and the search restarts from steepest descent.

``H g`` is taken in the compact form of Byrd, Nocedal & Schnabel (1994; N&W eq. 7.24),
``H g = gamma g + S u - gamma Y t`` with ``t = R^-1 S^T g`` and
``u = R^-T ((D + gamma Y^T Y) t - gamma Y^T g)`` (``R``: upper triangle of ``S^T Y``, ``D`` its
diagonal): the small matrices and the products ``S^T g``, ``Y^T g`` are updated from dot products
taken while the new pair is formed, so an iteration makes two passes over the history (one forms
the pair and its dot products, one the direction) instead of the ``2 m`` of the two-loop
recursion; the problem is large and these passes are bound by memory bandwidth.

Memory: ``2 m + 3`` vectors of the problem size (``x`` and a pool of ``2 m + 2``: the pairs,
the gradient, the direction, the trial points' gradient and one idle vector that the objective
may borrow). Trial points are reached by moving ``x`` in place along the direction; their
gradient goes to a free row, so that the previous one stays where its difference ``y`` will be
written, without a copy. For a 5M-parameter Potts model in
float32 and ``m = 5`` that is about 260 MB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from seqlens.msa._threads import run_tasks, split_range

CHUNK = 4096  # vector elements per parallel work item (also plm_cpu's finishing pass)


# The vector kernels work on a range [lo, hi) of the vectors (a whole number of CHUNKs) and are
# compiled serial with nogil=True; the functions without the "_range" suffix split the vectors
# over the threads (seqlens.msa._threads.run_tasks). Sums are kept per CHUNK and added up in chunk
# order afterwards, so the results do not depend on the thread count. Serial kernels compile in a
# fraction of the time that parallel=True (parfor) ones take, which a first run pays. Inner loops
# index with unsigned integers: numba then drops its negative-index wraparound and LLVM vectorises
# them (as it does in parfors), about 2x faster.


@numba.njit(cache=True, nogil=True)
def _dot_range(a, b, lo_all, hi_all, part):
    for lo in range(lo_all, hi_all, CHUNK):
        s = 0.0
        for k in range(np.uint64(lo), np.uint64(min(hi_all, lo + CHUNK))):
            s += np.float64(a[k]) * b[k]
        part[lo // CHUNK] = s


@numba.njit(cache=True, nogil=True)
def _axpy_range(alpha, x, y, lo, hi):
    for k in range(np.uint64(lo), np.uint64(hi)):
        y[k] += alpha * x[k]


@numba.njit(cache=True, nogil=True)
def _abs_max_range(x, lo, hi):
    m = 0.0
    for k in range(np.uint64(lo), np.uint64(hi)):
        m = max(m, abs(np.float64(x[k])))
    return m


def _n_chunks(n: int) -> int:
    return max(1, -(-n // CHUNK))


def _dot(a, b) -> float:
    """``a . b`` (float64 sums per chunk, then over the chunks)."""
    part = np.zeros(_n_chunks(a.shape[0]))
    run_tasks(_dot_range, [(a, b, lo, hi, part) for lo, hi in split_range(a.shape[0])])
    return float(part.sum())


def _axpy(alpha, x, y) -> None:
    """``y += alpha * x``."""
    run_tasks(_axpy_range, [(alpha, x, y, lo, hi) for lo, hi in split_range(y.shape[0])])


def _abs_max(x) -> float:
    """``max |x|``."""
    return max(run_tasks(_abs_max_range, [(x, lo, hi) for lo, hi in split_range(x.shape[0])]))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _combine_range(pool, idx, coef, c_g, g, out, lo_all, hi_all, part):
    """``pool[out] = c_g g + sum_q coef[q] pool[idx[q]]`` on ``[lo_all, hi_all)`` (``out`` may be
    a row of ``idx``: each chunk is read before it is written). Writes ``(g . pool[out], max
    |pool[out]|, sum |g|)`` of each chunk ``c`` into ``part[c]``."""
    acc = np.empty(CHUNK)
    for lo in range(lo_all, hi_all, CHUNK):
        hi = min(hi_all, lo + CHUNK)
        gd = 0.0
        dm = 0.0
        gl = 0.0
        u = np.uint64(lo)
        m = np.uint64(hi - lo)
        for t in range(m):
            acc[t] = c_g * g[u + t]
        for q in range(idx.shape[0]):
            r = idx[q]
            cq = coef[q]
            for t in range(m):
                acc[t] += cq * pool[r, u + t]
        for t in range(m):
            k = u + t
            v = acc[t]
            gk = np.float64(g[k])
            pool[out, k] = v
            gd += gk * v
            dm = max(dm, abs(v))
            gl += abs(gk)
        c = lo // CHUNK
        part[c, 0] = gd
        part[c, 1] = dm
        part[c, 2] = gl


def _combine(pool, idx, coef, c_g, g, out):
    """:func:`_combine_range` over the whole vectors, on the threads. Returns ``(g . pool[out],
    max |pool[out]|, sum |g|)``."""
    part = np.zeros((_n_chunks(g.shape[0]), 3))
    run_tasks(_combine_range, [(pool, idx, coef, c_g, g, out, lo, hi, part)
                               for lo, hi in split_range(g.shape[0])])
    return float(part[:, 0].sum()), float(part[:, 1].max()), float(part[:, 2].sum())


@numba.njit(cache=True, nogil=True, fastmath=True)
def _pair_range(pool, idx, step, d, y, g, lo_all, hi_all, part, part_max):
    """``pool[d] *= step`` (-> s), ``pool[y] = g - pool[y]`` (-> y) on ``[lo_all, hi_all)``, in
    one pass over chunks of the history. Writes, for each chunk ``c``, the dot products
    ``part[c]`` ``(len(idx) + 2, 2)`` of the rows ``pool[idx]``, then s and y, with y (column 0)
    and with g (column 1), and ``part_max[c] = (max |g|, max |s|)``."""
    nv = idx.shape[0]
    for lo in range(lo_all, hi_all, CHUNK):
        hi = min(hi_all, lo + CHUNK)
        c = lo // CHUNK
        g_max = 0.0
        s_max = 0.0
        sy = 0.0
        sg = 0.0
        yy = 0.0
        yg = 0.0
        for k in range(np.uint64(lo), np.uint64(hi)):
            sv = pool[d, k] * step
            yv = g[k] - pool[y, k]
            pool[d, k] = sv
            pool[y, k] = yv
            s64 = np.float64(sv)
            y64 = np.float64(yv)
            g64 = np.float64(g[k])
            sy += s64 * y64
            sg += s64 * g64
            yy += y64 * y64
            yg += y64 * g64
            g_max = max(g_max, abs(g64))
            s_max = max(s_max, abs(s64))
        for q in range(nv):
            r = idx[q]
            vy = 0.0
            vg = 0.0
            for k in range(np.uint64(lo), np.uint64(hi)):
                v = np.float64(pool[r, k])
                vy += v * pool[y, k]
                vg += v * g[k]
            part[c, q, 0] = vy
            part[c, q, 1] = vg
        part[c, nv, 0] = sy
        part[c, nv, 1] = sg
        part[c, nv + 1, 0] = yy
        part[c, nv + 1, 1] = yg
        part_max[c, 0] = g_max
        part_max[c, 1] = s_max


def _pair(pool, idx, step, d, y, g):
    """:func:`_pair_range` over the whole vectors, on the threads. Returns the dot products
    ``(len(idx) + 2, 2)``, ``max |g|`` and ``max |s|``."""
    n_chunks = _n_chunks(g.shape[0])
    part = np.zeros((n_chunks, idx.shape[0] + 2, 2))
    part_max = np.zeros((n_chunks, 2))
    run_tasks(_pair_range, [(pool, idx, step, d, y, g, lo, hi, part, part_max)
                            for lo, hi in split_range(g.shape[0])])
    return part.sum(axis=0), float(part_max[:, 0].max()), float(part_max[:, 1].max())


@dataclass
class LBFGSResult:
    """Outcome of :func:`minimize`: final objective, iterations, function evaluations, reason."""

    fun: float
    n_iter: int
    n_evals: int
    message: str


class _Ray:
    """The objective along ``x0 + a d``: calling it with a step ``a`` moves ``x`` there in place,
    evaluates (the gradient lands in ``g``) and returns ``(f, g . d)``. ``g0`` holds the gradient
    at ``x0``, so that returning to ``a = 0`` costs no evaluation. ``fun_slope``: see
    :func:`minimize`."""

    def __init__(self, fun, x, g, d, g0, fun_slope=None):
        self.fun, self.x, self.g, self.d, self.g0 = fun, x, g, d, g0
        self.fun_slope = fun_slope
        self.pos = 0.0  # x = x0 + pos * d
        self.g_at = 0.0  # the step whose gradient is in g
        self.evals = 0

    def _move(self, a):
        if a != self.pos:
            _axpy(a - self.pos, self.d, self.x)
            self.pos = a

    def __call__(self, a):
        self._move(a)
        self.evals += 1
        self.g_at = a
        if self.fun_slope is not None:
            return self.fun_slope(self.x, self.g, self.d)
        f = self.fun(self.x, self.g)
        return f, _dot(self.g, self.d)

    def settle(self, a, f):
        """Leave ``x`` and ``g`` at step ``a`` (value ``f``); returns ``f`` there."""
        if a == 0.0:
            self._move(0.0)
            if self.g_at != 0.0:
                np.copyto(self.g, self.g0)
                self.g_at = 0.0
            return f
        if self.g_at != a:
            f, _ = self(a)
        return f


def _cubic_step(p, q, lo, hi):
    """Minimiser of the cubic matching value and slope at two steps ``p = (a, f, f')`` and
    ``q`` (Nocedal & Wright eq. 3.59), clipped to ``[lo, hi]``; the middle of ``[lo, hi]`` when
    the cubic has no finite minimiser."""
    (a0, f0, s0), (a1, f1, s1) = p, q
    middle = 0.5 * (lo + hi)
    if a0 == a1 or not all(math.isfinite(v) for v in (f0, s0, f1, s1)):
        return middle
    d1 = s0 + s1 - 3.0 * (f0 - f1) / (a0 - a1)
    disc = d1 * d1 - s0 * s1
    if not disc >= 0.0:
        return middle
    d2 = math.copysign(math.sqrt(disc), a1 - a0)
    denom = s1 - s0 + 2.0 * d2
    if denom == 0.0:
        return middle
    a = a1 - (a1 - a0) * (s1 + d2 - d1) / denom
    if not math.isfinite(a):
        return middle
    return min(max(a, lo), hi)


def _wolfe_step(ray: _Ray, f0: float, slope0: float, a_init: float, max_evals: int,
                c1: float = 1e-4, c2: float = 0.9, min_move: float = 1e-9,
                d_max: float | None = None) -> tuple[float, float]:
    """Step length along ``ray`` for the strong Wolfe conditions (Nocedal & Wright Alg. 3.5 and
    the zoom of Alg. 3.6), spending at most ``max_evals`` evaluations.

    Returns ``(a, f)`` with ``ray``'s ``x`` and ``g`` at step ``a``. When the budget runs out or
    the bracket shrinks below ``min_move`` (largest change of a coordinate), the best step found
    that satisfies the sufficient-decrease condition is returned, ``0`` if there is none.
    ``d_max``: ``max |d|`` when the caller knows it. Sufficient decrease allows for the rounding
    of ``f`` (a few ulps of ``f0``), and the zoom stops once the values at the bracket's ends are
    that close: at the objective's noise floor a search ends at once instead of bisecting its
    bracket to the end of its budget.
    """
    if d_max is None:
        d_max = _abs_max(ray.d)
    noise = 4.0 * np.finfo(np.float64).eps * abs(f0)

    def decreases(a, f):
        return math.isfinite(f) and f <= f0 + c1 * a * slope0 + noise

    def flat(s):
        return abs(s) <= -c2 * slope0

    # Alg. 3.5: grow the step until an interval [lo, hi] is known to hold an acceptable step;
    # lo satisfies sufficient decrease and has the lower value, its slope points towards hi
    prev = (0.0, f0, slope0)
    a = a_init
    while True:
        if ray.evals >= max_evals:
            return prev[0], ray.settle(prev[0], prev[1])
        f, s = ray(a)
        if not decreases(a, f) or (prev[0] > 0.0 and f >= prev[1]):
            lo, hi = prev, (a, f, s)
            break
        if flat(s):
            return a, f
        if s >= 0.0:
            lo, hi = (a, f, s), prev
            break
        # still going down steeply: extrapolate to between 2x and 9x the last step's reach
        grow = a - prev[0]
        prev, a = (a, f, s), _cubic_step(prev, (a, f, s), a + grow, a + 8.0 * grow)

    # Alg. 3.6: shrink [lo, hi]; each trial keeps a tenth of the interval from either end
    while ray.evals < max_evals:
        width = abs(hi[0] - lo[0])
        if width * d_max < min_move or abs(hi[1] - lo[1]) <= noise:
            break
        left = min(lo[0], hi[0]) + 0.1 * width
        right = max(lo[0], hi[0]) - 0.1 * width
        a = _cubic_step(lo, hi, left, right)
        f, s = ray(a)
        if not decreases(a, f) or f >= lo[1]:
            hi = (a, f, s)
            continue
        if flat(s):
            return a, f
        if s * (hi[0] - lo[0]) >= 0.0:
            hi = lo
        lo = (a, f, s)
    return lo[0], ray.settle(lo[0], lo[1])


def _drop_oldest(SY, YY, a, b):
    """Shift the small matrices and vectors of :func:`minimize` past their first pair."""
    for M in (SY, YY):
        M[:-1, :-1] = M[1:, 1:].copy()
    a[:-1] = a[1:].copy()
    b[:-1] = b[1:].copy()


def minimize(fun: Callable[[np.ndarray, np.ndarray], float], x: np.ndarray, max_iter: int = 100,
             max_eval: int | None = None, history_size: int = 5, tolerance_grad: float = 1e-5,
             tolerance_change: float = 1e-9, max_line_evals: int = 25,
             callback: Callable[[int, float], None] | None = None,
             lend: Callable[[np.ndarray | None], None] | None = None,
             fun_slope: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, float]]
             | None = None) -> LBFGSResult:
    """Minimise ``fun`` from ``x`` (updated in place, float32 or float64 ``(n,)``).

    ``fun(x, g)`` returns the objective and writes the gradient into ``g``. Each iteration makes
    one line search (at most ``max_line_evals`` evaluations, and no more than ``max_eval`` in
    all, default unlimited) starting from the unit step, or, along steepest descent (the first
    iteration and after a restart), from the step that moves ``x`` by 1 in L1 norm if that is
    shorter. The run stops after ``max_iter`` iterations or when the largest gradient entry is
    ``<= tolerance_grad``, the largest step entry or the change of the objective is
    ``<= tolerance_change``, the direction is no longer a descent direction, or no step along
    steepest descent decreases the objective. ``callback(iteration, f)`` is called after each
    iteration. ``lend(buf)``, if given, is called before each line search with a
    parameter-sized vector that is idle until the next call, which ``fun`` may use as scratch.
    ``fun_slope(x, g, d)``, if given, evaluates the line searches' trial points instead of
    ``fun``: the same, and returns ``(f, g . d)`` for the search direction ``d``, so that an
    objective that finishes ``g`` in a pass of its own can take the product there.
    """
    eval_cap = math.inf if max_eval is None else max_eval
    curvature_eps = float(np.finfo(x.dtype).eps)
    m = history_size
    n_rows = 2 * m + 2
    pool = np.empty((n_rows, x.size), dtype=x.dtype)
    g_row = 0  # the gradient at x
    g = pool[g_row]
    f = fun(x, g)
    n_evals = 1
    if _abs_max(g) <= tolerance_grad:
        return LBFGSResult(float(f), 0, n_evals, "gradient below tolerance")
    pairs: list[tuple[int, int]] = []  # pool rows (s, y), oldest first
    SY = np.zeros((m, m))  # SY[i, j] = s_i . y_j for i <= j
    YY = np.zeros((m, m))  # y_i . y_j
    a = np.zeros(m)  # S^T g
    b = np.zeros(m)  # Y^T g
    gamma = 1.0  # H0 = gamma I
    n_iter = 0
    message = "max_iter reached"
    while n_iter < max_iter:
        n_iter += 1
        k = len(pairs)
        steepest = k == 0
        coef = np.empty(2 * k)
        if k:
            R = np.triu(SY[:k, :k])
            t = np.linalg.solve(R, a[:k])
            u = np.linalg.solve(R.T, np.diag(R) * t + gamma * (YY[:k, :k] @ t - b[:k]))
            coef[:k] = -u
            coef[k:] = gamma * t
        idx = np.array([p[0] for p in pairs] + [p[1] for p in pairs], dtype=np.int64)
        used = {r for p in pairs for r in p} | {g_row}
        free = [r for r in range(n_rows) if r not in used]
        # a full history lends its oldest pair's rows to the direction and the new gradient
        d_row, new_row = pairs[0] if k == m else (free[0], free[1])
        g = pool[g_row]
        slope, d_max, g_l1 = _combine(pool, idx, coef, -gamma, g, d_row)
        if k == m:
            pairs.pop(0)
            _drop_oldest(SY, YY, a, b)
        if slope > -tolerance_change:
            if steepest:
                message = "directional derivative below tolerance"
                break
            pairs.clear()  # not a descent direction: restart
            gamma = 1.0
            continue
        if lend is not None:
            lend(pool[free[-1]])
        ray = _Ray(fun, x, pool[new_row], pool[d_row], g, fun_slope)
        budget = int(min(max_line_evals, eval_cap - n_evals))
        a_init = min(1.0, 1.0 / g_l1) if steepest else 1.0
        f_prev = f
        step, f = _wolfe_step(ray, f_prev, slope, a_init, budget, min_move=tolerance_change,
                              d_max=d_max)
        n_evals += ray.evals
        if step == 0.0:  # no decrease found; x is back where it was, g_row unchanged
            if steepest or n_evals >= eval_cap:
                message = ("line search found no decrease" if n_evals < eval_cap
                           else "max_eval reached")
                break
            pairs.clear()
            gamma = 1.0
            continue
        # the new pair (s = step d, y = g_new - g_old) and the products for the next direction
        k = len(pairs)
        idx = np.array([p[0] for p in pairs] + [p[1] for p in pairs], dtype=np.int64)
        y_row, g_row = g_row, new_row
        dots, g_max, s_max = _pair(pool, idx, step, d_row, y_row, pool[g_row])
        ys, yy = dots[2 * k, 0], dots[2 * k + 1, 0]
        a[:k], b[:k] = dots[:k, 1], dots[k:2 * k, 1]
        if ys > curvature_eps * yy:
            SY[:k, k] = dots[:k, 0]
            SY[k, k] = ys
            YY[:k, k] = YY[k, :k] = dots[k:2 * k, 0]
            YY[k, k] = yy
            a[k], b[k] = dots[2 * k, 1], dots[2 * k + 1, 1]
            pairs.append((d_row, y_row))
            gamma = ys / yy
        if callback is not None:
            callback(n_iter, f)
        if n_iter == max_iter:
            break
        if n_evals >= eval_cap:
            message = "max_eval reached"
            break
        if g_max <= tolerance_grad:
            message = "gradient below tolerance"
            break
        if s_max <= tolerance_change:
            message = "step below tolerance"
            break
        if abs(f - f_prev) <= tolerance_change:
            message = "objective change below tolerance"
            break
    return LBFGSResult(float(f), n_iter, n_evals, message)
