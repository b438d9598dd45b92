r"""EXAMPLE: a second model for attention-verify, installed as its own package: linear regression under GD.

It registers a model (``MODEL``, under ``verify.models``) and a theorem module about it (``MODULE``, under
``verify.theorems``; see its pyproject.toml). The toolkit's engine, its CLI core and its confirmations use the
model only through the :class:`verify.model.Model` contract, so nothing in ``verify/`` changes for it.

Problem
-------
Least squares: $L(w) = \frac{1}{2n}\|Xw - y\|^2$ with $X \in \mathbb{R}^{n\times d}$, $y \in \mathbb{R}^n$,
minimum $L^*$, smoothness $S = \lambda_{\max}(X^\top X/n)$; instances of schema ``linear-regression/1``
(:mod:`verify_linreg.model`). The metric is the loss gap $L(w_t) - L^* = \frac{1}{2n}\|X(w_t - w^*)\|^2$.

Assumptions
-----------
- ``step_size`` [prior]: the instance's step satisfies $\eta S \le 1$ (slack $1 - \eta S$).

Method
------
Gradient descent $w_{t+1} = w_t - \eta\nabla L(w_t)$ from the instance's $w_0$ (``verify.methods``' ``gd``).

Guarantee
---------
- ``linreg.gd-gap`` (order): $L(w_t) - L^* = O(1/t)$ [prior].
- ``linreg.gd-bound`` (bound): $L(w_t) - L^* \le \|w_0 - w^*\|^2 / (2\eta t)$ for every $t \ge 1$ [prior].

Both are the classical rate of gradient descent on a convex $S$-smooth function with step $\eta \le 1/S$;
least squares is such a function. Breaking ``step_size`` far enough ($\eta S > 2$) makes GD diverge, so an
audit should find the assumption load-bearing.

References
----------
- [GD] S. Bubeck. *Convex Optimization: Algorithms and Complexity.* Foundations and Trends in Machine
  Learning 8(3-4), 2015, Section 3.2 (gradient descent for smooth convex functions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from verify.backends import get_backend
from verify.methods import make_method
from verify.observation import Series, SeriesObservation
from verify.provenance import prov
from verify.theory import FAILS, HOLDS, Assumption, AssumptionResult, Claim, Reference, Settings, TheoremModule
from verify.trajectory import run
from verify_linreg.model import MODEL, GDProblem, LinRegInstance, smoothness

__all__ = ["MODEL", "MODULE", "generate"]

T = sympy.Symbol("t", positive=True)
R0, ETA = sympy.Symbol("R0", positive=True), sympy.Symbol("eta", positive=True)
CLASSICAL = prov("prior", note="the O(1/t) rate of GD on a convex S-smooth function with step eta <= 1/S")


def generate(n: int, d: int, seed: int, log10_kappa: float, c: float) -> LinRegInstance:
    """A least-squares instance with condition number 10^log10_kappa (singular values log-spaced) and step
    eta = c / S; w0 = 0, y = X w_true + 0.1 noise. The slowest mode of GD contracts the gap by
    exp(-2 c / cond(X)^2) per step; the strategies keep cond(X) in [13, 20] and c in [0.5, 1] (meets), so over
    the quick profile's 2000 steps the gap decays by e^-5 to e^-24: the run sees the geometric tail, far above
    the gap's rounding bound."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.sqrt(n) * np.logspace(0.0, -log10_kappa, d)
    X = (U * s) @ V.T
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    inst = LinRegInstance(X, y, np.zeros(d), 1.0)
    return LinRegInstance(X, y, np.zeros(d), float(c / smoothness(inst)))


def _instances(c_lo: float, c_hi: float) -> Any:
    return st.builds(generate, n=st.integers(6, 12), d=st.integers(2, 5), seed=st.integers(0, 2**16),
                     log10_kappa=st.floats(1.11, 1.3), c=st.floats(c_lo, c_hi))


def _step_size(inst: LinRegInstance, cache: dict) -> AssumptionResult:
    slack = 1.0 - inst.eta * smoothness(inst)
    return AssumptionResult(HOLDS if slack >= 0 else FAILS, slack, f"eta S = {1 - slack:.4g}")


ASSUMPTIONS = {"step_size": Assumption("step_size", "Step at most 1/S", "eta * lambda_max(X^T X / n) <= 1",
                                       CLASSICAL, _step_size)}


def evaluate_gap(claim: Claim, inst: LinRegInstance, settings: Settings, cache: dict) -> SeriesObservation:
    """Run GD for ``settings.steps`` steps and observe the loss gap at log-spaced checkpoints, with its rounding
    bound. With e_w the iterate's error bound (:meth:`GDProblem.iterate_error`) and gap = ||X d||^2 / (2n),
    d = w - w*, the gap is off by at most sqrt(2 gap / n) sigma_max(X) e_w + 4 (n + d) u gap. A checkpoint whose
    gap is within 10 times that bound carries no information and is flagged (precision not kept there)."""
    bk = get_backend(settings.backend, settings.dps)
    problem = GDProblem(bk, inst)
    tr = run(problem, make_method("gd", eta=inst.eta), settings.steps)
    t = np.asarray(tr.t, dtype=float)
    gap = np.exp(tr.series("log_gap"))
    w_norm = np.linalg.norm(tr.series("w"), axis=1)
    e_w = problem.iterate_error(t, w_norm)
    err = np.sqrt(2 * gap / inst.n) * problem.sigma_max * e_w + 4 * (inst.n + inst.d) * bk.eps * gap
    ok = tr.precision_ok[:, 0] & (gap > 10 * err)
    r0 = float(np.linalg.norm(inst.w0 - np.asarray(bk.to_float(problem.w_star))))
    return SeriesObservation(
        series={"loss_gap": Series(t=list(tr.t), values=gap.tolist(), ok=ok.tolist(), error=err.tolist())},
        consts={"R0": r0, "eta": inst.eta, "S": smoothness(inst), "n": inst.n, "d": inst.d},
        run={"method": "gd", "params": {"eta": inst.eta}, "backend": tr.backend, "dps": tr.dps,
             "steps": settings.steps, "representation": "dense", "notes": tr.notes},
        extra={"max_rel_error": float(tr.max_rel_error.max()), "cond": problem.cond},
        metric="loss_gap")


def _claim(cid: str, kind: str, title: str, statement: str, **kw: Any) -> Claim:
    return Claim(id=cid, title=title, statement=statement, kind=kind, paper="GD", provenance=CLASSICAL,
                 assumptions=("step_size",), method="gd", metric="loss_gap", evaluate=evaluate_gap, rate=1 / T,
                 confirm_with=("higher-precision", "longer-horizon"), **kw)


CLAIMS = {c.id: c for c in (
    _claim("linreg.gd-gap", "order", "GD's loss gap is O(1/t)", "L(w_t) - L* = O(1/t) for eta <= 1/S",
           params={"decades": 2}),
    _claim("linreg.gd-bound", "bound", "GD's loss gap is at most ||w0 - w*||^2 / (2 eta t)",
           "L(w_t) - L* <= ||w0 - w*||^2 / (2 eta t) for every t >= 1, eta <= 1/S", constant=R0**2 / (2 * ETA)),
)}


def meets(claim_id: str) -> Any:
    """Instances with eta S in [0.5, 1]."""
    return _instances(0.5, 1.0)


def breaks(claim_id: str, assumption_id: str) -> Any:
    """Instances with eta S in [2.05, 2.5]: GD diverges along the top singular direction."""
    return _instances(2.05, 2.5) if assumption_id == "step_size" else None


MODULE = TheoremModule(
    key="linreg",
    reference=Reference("GD", "S. Bubeck", "Convex Optimization: Algorithms and Complexity",
                        venue="Foundations and Trends in Machine Learning 8(3-4), 2015", theorem="Section 3.2"),
    summary="Least squares under gradient descent with step eta <= 1/S: the loss gap decays like 1/t.",
    assumptions=ASSUMPTIONS,
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    model=MODEL,
)
