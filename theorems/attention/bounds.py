"""Explicit bound claims on the attention classifier's iterate, compared against the run's own rounding error.

``evaluate_norm_bound``: ||W_t||_F <= constant(t) * rate(t) (kind ``bound``), e.g. the exact NGD bound
||W_t||_F <= eta t + ||W_0||_F (triangle inequality: each step has length eta).

Error bound per checkpoint (:func:`verify.checks.rounding_bound`): |m| (rho(t) + delta + (t + d^2) u), with rho(t)
the precision watch's running maximum relative step error, u the backend's unit roundoff, d^2 the terms of the
Frobenius norm, and delta = 2^-53 (2 + |ln eta|) for the step lengths: the step rules carry log(eta) in float64
(verify.methods), so even a high-precision run steps by exp(fl(ln eta)), not eta, to float64 accuracy. The bound
curve's own error is 4 u |bound|.

High precision: with the mpmath backend the norm is computed from the iterate inside the run at the backend's
precision (:class:`ExactNorm`) and handed over as mpf (``Series.dps``); the engine's bound checker evaluates the
bound curve by ``Claim.curve(..., dps=...)`` and the excess inside that precision context: no float64 round trip
before the comparison.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.claims import _instance_constants, _run_info, method_params
from verify.backends import get_backend
from verify.checks import rounding_bound
from verify.methods import make_method
from verify.observation import Series, SeriesObservation
from verify.theory import Claim, Settings
from verify.trajectory import run


class ExactNorm:
    """A problem that delegates everything to ``problem`` and, with the mpmath backend, also records
    ``norm_exact`` = ||W_t||_F as mpf at the backend's precision (computed inside the run's precision context)."""

    def __init__(self, problem: Any) -> None:
        self._p = problem

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)

    def observe(self, state: Any, fo: Any) -> dict[str, np.ndarray]:
        out = dict(self._p.observe(state, fo))
        if self._p.bk.name == "mpmath":
            import mpmath

            W = self._p.rep.matrix(state)
            norms = np.empty(len(W), dtype=object)
            norms[:] = [mpmath.sqrt(mpmath.fsum(x * x for x in np.ravel(Wb))) for Wb in W]
            out["norm_exact"] = norms
        return out


def evaluate_norm_bound(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                        cache: dict) -> SeriesObservation:
    """||W_t||_F per checkpoint with its rounding-error bound, for ||W_t||_F <= constant * rate (kind ``bound``):
    at high precision the norms are mpf at the backend's digits (``Series.dps``), and the bound curve is then
    evaluated and compared at that precision by the engine."""
    from theorems.attention.assumptions import svm_for

    mp = method_params(claim.method, claim.params)
    bk = get_backend(settings.backend, settings.dps)
    rule = make_method(claim.method, eta=mp.get("eta", 0.1), c=mp.get("c", 1.0))
    rep = "dense" if claim.method == "adam" else settings.representation
    tr = run(ExactNorm(ac.build_problem(bk, ac.stack([inst]), rep)), rule, settings.steps)
    t = np.asarray(tr.t, dtype=float)
    consts = _instance_constants(inst, svm_for(inst, cache).W, claim.params)
    high = bk.name == "mpmath"
    delta = 2.0**-53 * (2 + abs(math.log(mp.get("eta", mp.get("c", 1.0)))))
    with bk.context():
        if high:
            import mpmath

            consts["norm_W0"] = mpmath.sqrt(mpmath.fsum(mpmath.mpf(float(x)) ** 2 for x in np.ravel(inst.W0)))
        values = tr.series("norm_exact") if high else np.asarray(tr.series("norm"), dtype=float)
        err = rounding_bound(values, tr.max_rel_error[:, 0], bk.eps, t, eval_ops=inst.d**2, param_rel=delta)
    return SeriesObservation(
        series={claim.metric: Series(tr.t, values, ok=tr.precision_ok[:, 0], error=err,
                                     dps=bk.dps if high else None)},
        consts=consts, run={**_run_info(tr, settings, claim.method, mp), "representation": rep},
        extra={"max_rel_error": float(tr.max_rel_error.max()), "compared_at_dps": bk.dps})
