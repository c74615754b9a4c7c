"""Limited-memory BFGS on flat numpy vectors, with a strong-Wolfe line search, using little memory.

:func:`minimize` is the textbook method (Nocedal & Wright, *Numerical Optimization*, 2nd ed.):
the search direction ``-H g`` comes from the two-loop recursion (Alg. 7.4) over the last ``m``
pairs ``s = x_new - x``, ``y = g_new - g`` with the initial scaling ``H0 = (s.y / y.y) I``
(eq. 7.20), and the step length from a line search for the strong Wolfe conditions (Alg. 3.5,
with the "zoom" phase of Alg. 3.6 and safeguarded cubic interpolation, eq. 3.59). A pair with
too little curvature is not stored; when no step along an L-BFGS direction decreases the
objective, the history is dropped and the search restarts from steepest descent.

Memory: only ``2 m + 3`` vectors of the problem size are held (``x``, ``g``, the direction and the
``m`` pairs). Trial points are reached by moving ``x`` in place along the direction, the previous
gradient waits in the history slot that its difference ``y`` will occupy, and the vector
operations run in numba without temporaries, fused so that each pass over the vectors does as
much as it can (the two-loop recursion makes ``2 m + 2`` passes instead of ``4 m + 2``). For a
5M-parameter Potts model in float32 and ``m = 5`` that is about 260 MB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def _dot(a, b):
    s = 0.0
    for k in numba.prange(a.shape[0]):
        s += np.float64(a[k]) * b[k]
    return s


@numba.njit(parallel=True, cache=True)
def _axpy(alpha, x, y):
    """``y += alpha * x``."""
    for k in numba.prange(y.shape[0]):
        y[k] += alpha * x[k]


@numba.njit(parallel=True, cache=True)
def _neg_copy(src, dst):
    for k in numba.prange(dst.shape[0]):
        dst[k] = -src[k]


@numba.njit(parallel=True, cache=True)
def _abs_max(x):
    m = 0.0
    for k in numba.prange(x.shape[0]):
        m = max(m, abs(np.float64(x[k])))
    return m


@numba.njit(parallel=True, cache=True)
def _axpy_dot(alpha, x, y, z):
    """``y += alpha * x``; returns ``z . y`` (one pass)."""
    s = 0.0
    for k in numba.prange(y.shape[0]):
        v = y[k] + alpha * x[k]
        y[k] = v
        s += np.float64(z[k]) * v
    return s


@numba.njit(parallel=True, cache=True)
def _scale_dot(alpha, x, z):
    """``x *= alpha``; returns ``z . x``."""
    s = 0.0
    for k in numba.prange(x.shape[0]):
        v = x[k] * alpha
        x[k] = v
        s += np.float64(z[k]) * v
    return s


@numba.njit(parallel=True, cache=True)
def _neg_copy_dot(g, d, z):
    """``d = -g``; returns ``z . d``."""
    s = 0.0
    for k in numba.prange(d.shape[0]):
        v = -g[k]
        d[k] = v
        s += np.float64(z[k]) * v
    return s


@numba.njit(parallel=True, cache=True)
def _park(g, y, d):
    """``y = g``; returns ``(g . d, sum |g|)``."""
    gd = 0.0
    a = 0.0
    for k in numba.prange(y.shape[0]):
        v = g[k]
        y[k] = v
        gd += np.float64(v) * d[k]
        a += abs(np.float64(v))
    return gd, a


@numba.njit(parallel=True, cache=True)
def _new_pair(t, d, g, y):
    """``d *= t`` (-> s), ``y = g - y``; returns ``(y.s, y.y, max|g|, max|s|)``."""
    ys = 0.0
    yy = 0.0
    gmax = 0.0
    smax = 0.0
    for k in numba.prange(d.shape[0]):
        sv = d[k] * t
        d[k] = sv
        yv = g[k] - y[k]
        y[k] = yv
        ys += np.float64(yv) * sv
        yy += np.float64(yv) * yv
        gmax = max(gmax, abs(np.float64(g[k])))
        smax = max(smax, abs(np.float64(sv)))
    return ys, yy, gmax, smax


def _direction(g, d, S, Y, rho, h_diag):
    """``d = -H g`` by the two-loop recursion, each dot product fused with the preceding update
    (``2 m + 2`` passes over the vectors instead of ``4 m + 2``)."""
    n = len(S)
    if n == 0:
        _neg_copy(g, d)
        return
    al = [0.0] * n
    al[n - 1] = _neg_copy_dot(g, d, S[n - 1]) * rho[n - 1]
    for k in range(n - 1, 0, -1):
        al[k - 1] = _axpy_dot(-al[k], Y[k], d, S[k - 1]) * rho[k - 1]
    _axpy(-al[0], Y[0], d)
    be = _scale_dot(h_diag, d, Y[0]) * rho[0]
    for k in range(n - 1):
        be = _axpy_dot(al[k] - be, S[k], d, Y[k + 1]) * rho[k + 1]
    _axpy(al[n - 1] - be, S[n - 1], d)


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
    at ``x0``, so that returning to ``a = 0`` costs no evaluation."""

    def __init__(self, fun, x, g, d, g0):
        self.fun, self.x, self.g, self.d, self.g0 = fun, x, g, d, g0
        self.pos = 0.0  # x = x0 + pos * d
        self.g_at = 0.0  # the step whose gradient is in g
        self.evals = 0

    def _move(self, a):
        if a != self.pos:
            _axpy(a - self.pos, self.d, self.x)
            self.pos = a

    def __call__(self, a):
        self._move(a)
        f = self.fun(self.x, self.g)
        self.evals += 1
        self.g_at = a
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
                c1: float = 1e-4, c2: float = 0.9, min_move: float = 1e-9) -> tuple[float, float]:
    """Step length along ``ray`` for the strong Wolfe conditions (Nocedal & Wright Alg. 3.5 and
    the zoom of Alg. 3.6), spending at most ``max_evals`` evaluations.

    Returns ``(a, f)`` with ``ray``'s ``x`` and ``g`` at step ``a``. When the budget runs out or
    the bracket shrinks below ``min_move`` (largest change of a coordinate), the best step found
    that satisfies the sufficient-decrease condition is returned, ``0`` if there is none.
    """
    d_max = _abs_max(ray.d)

    def decreases(a, f):
        return math.isfinite(f) and f <= f0 + c1 * a * slope0

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
        if width * d_max < min_move:
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


def minimize(fun: Callable[[np.ndarray, np.ndarray], float], x: np.ndarray, max_iter: int = 100,
             max_eval: int | None = None, history_size: int = 5, tolerance_grad: float = 1e-5,
             tolerance_change: float = 1e-9, max_line_evals: int = 25,
             callback: Callable[[int, float], None] | None = None,
             lend: Callable[[np.ndarray | None], None] | None = None) -> LBFGSResult:
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
    parameter-sized vector that is idle until the next call (the oldest history slot once the
    history is full; None before), which ``fun`` may use as scratch.
    """
    eval_cap = math.inf if max_eval is None else max_eval
    curvature_eps = float(np.finfo(x.dtype).eps)
    g = np.empty_like(x)
    S: list[np.ndarray] = []  # oldest first
    Y: list[np.ndarray] = []
    rho: list[float] = []
    free_s: np.ndarray | None = None  # buffers for the next direction / gradient difference
    free_y: np.ndarray | None = None
    f = fun(x, g)
    n_evals = 1
    if _abs_max(g) <= tolerance_grad:
        return LBFGSResult(float(f), 0, n_evals, "gradient below tolerance")
    gamma = 1.0  # H0 = gamma I
    n_iter = 0
    message = "max_iter reached"
    while n_iter < max_iter:
        n_iter += 1
        d = free_s if free_s is not None else np.empty_like(x)
        _direction(g, d, S, Y, rho, gamma)
        steepest = not S
        if len(S) == history_size:  # the oldest pair makes room for this iteration's
            free_s, free_y = S.pop(0), Y.pop(0)
            rho.pop(0)
        else:
            free_s = None
            free_y = free_y if free_y is not None else np.empty_like(x)
        y = free_y
        slope, g_l1 = _park(g, y, d)  # y holds the current gradient until the step is taken
        if slope > -tolerance_change:
            if steepest:
                message = "directional derivative below tolerance"
                break
            S.clear(), Y.clear(), rho.clear()  # not a descent direction: restart
            free_s, free_y, gamma = d, y, 1.0
            continue
        if lend is not None:
            lend(free_s)
        ray = _Ray(fun, x, g, d, y)
        budget = int(min(max_line_evals, eval_cap - n_evals))
        a_init = min(1.0, 1.0 / g_l1) if steepest else 1.0
        f_prev = f
        a, f = _wolfe_step(ray, f_prev, slope, a_init, budget, min_move=tolerance_change)
        n_evals += ray.evals
        if a == 0.0:  # no decrease found; x and g are back where they were
            if steepest or n_evals >= eval_cap:
                free_s, free_y = d, y
                message = ("line search found no decrease" if n_evals < eval_cap
                           else "max_eval reached")
                break
            S.clear(), Y.clear(), rho.clear()
            free_s, free_y, gamma = d, y, 1.0
            continue
        # the new pair: s = a d (in d's buffer), y = g_new - g_old
        ys, yy, g_max, s_max = _new_pair(a, d, g, y)
        if ys > curvature_eps * yy:
            S.append(d)
            Y.append(y)
            rho.append(1.0 / ys)
            gamma = ys / yy
            free_y = None
        else:
            free_s, free_y = d, y
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
