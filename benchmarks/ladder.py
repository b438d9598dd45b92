"""Where the project's numpy Gram step spends its time beyond the plain one: a ladder of NGD loops (issue #12).

Each rung is the rung below it plus one feature of the project's step, written as plainly as the baseline
(benchmarks/competent.py), so that the time between two rungs is that feature's price:

1. ``plain``: :func:`benchmarks.competent.numpy_gram_ngd` (log-sum-exp softmax, no watch);
2. ``log-scaled kernel``: the project's float64 step kernel (``theorems.attention.step_kernel``) instead of the
   plain softmax coefficients: the reference token, the log scale M (G = e^M G_hat, so nothing underflows);
   NGD's direction G_hat / ||G_hat||_K does not need e^M;
3. ``+ precision watch``: the rounding bound of the logits, E = u (nT max_k (|K| |c|)_k + max |a0|) (a third
   mat-vec), rho = sum |G_hat| ||x|| ||z|| / ||G_hat||_K, and the test rho (2E + (nT + 8) u) <= 1e-8 every step;
4. the project itself, ``verify.trajectory.run`` with ``make_rule("ngd")``: the same arithmetic, plus the method
   chain (gradient, normalize, scale), the runner's per-step bookkeeping and one checkpoint at the end.

Every rung returns the coefficients c; ``benchmarks/run.py --only ladder`` rebuilds W from them and checks it
against the project's (1e-12 relative) before timing the rung.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks import competent as cb
from theorems.attention import classifier as ac
from theorems.attention import step_kernel

TOL = 1e-8  # verify.trajectory.DEFAULT_TOL
EPS = 2.0**-53  # the float64 backend's unit roundoff (verify.backends)


def kernel_ngd(batch: ac.Batch, steps: int, eta: float, K: np.ndarray, a0: np.ndarray) -> np.ndarray:
    """Rung 2: the plain Gram loop with the project's log-scaled step kernel."""
    B, n, T, _ = batch.X.shape
    m = n * T
    g = batch.g
    c = np.zeros((B, n, T))
    for _ in range(steps):
        a = a0 + np.matmul(K, c.reshape(B, m, 1)).reshape(B, n, T)
        G = step_kernel.step_coefficients(a, g)[0].reshape(B, m, 1)
        nrm = np.sqrt(np.matmul(G.transpose(0, 2, 1), np.matmul(K, G))[:, 0, 0])
        c = c - (eta / nrm)[:, None, None] * G.reshape(B, n, T)
    return c


def watched_ngd(batch: ac.Batch, steps: int, eta: float, K: np.ndarray, a0: np.ndarray) -> np.ndarray:
    """Rung 3: rung 2 plus the precision watch (the logits' rounding bound and the direction's relative error)."""
    B, n, T, _ = batch.X.shape
    m = n * T
    g = batch.g
    absK = np.abs(K)
    a0max = np.max(np.abs(a0), axis=(1, 2))
    norms = np.linalg.norm(batch.X, axis=-1) * np.linalg.norm(batch.Z, axis=-1)[..., None]  # ||x_it|| ||z_i||
    c = np.zeros((B, n, T))
    for t in range(steps):
        cf = c.reshape(B, m, 1)
        a = a0 + np.matmul(K, cf).reshape(B, n, T)
        E = EPS * (m * np.max(np.matmul(absK, np.abs(cf))[..., 0], axis=-1) + a0max)
        G = step_kernel.step_coefficients(a, g)[0]
        Gf = G.reshape(B, m, 1)
        nrm = np.sqrt(np.matmul(Gf.transpose(0, 2, 1), np.matmul(K, Gf))[:, 0, 0])
        rel = np.sum(np.abs(G) * norms, axis=(1, 2)) / nrm * (2 * E + (m + 8) * EPS)
        if not bool(np.all(rel <= TOL)):
            raise FloatingPointError(f"step {t}: the precision watch flags an instance (rel {np.max(rel):.3g})")
        c = c - (eta / nrm)[:, None, None] * G
    return c


def rungs(batch: ac.Batch, eta: float) -> dict[str, Callable[[int], np.ndarray]]:
    """The three rungs below the project, as ``steps -> W`` (the problem's K and a0 built once, outside)."""
    K, a0 = cb.gram_matrix(batch)

    def as_W(f: Callable[..., np.ndarray]) -> Callable[[int], np.ndarray]:
        return lambda s: cb.matrix_from_coefficients(batch, f(batch, s, eta, K, a0))

    return {"plain": as_W(cb.numpy_gram_ngd), "log-scaled kernel": as_W(kernel_ngd),
            "+ precision watch": as_W(watched_ngd)}
