"""GSB26: Goel, Soltanolkotabi, Bartlett, "Training Dynamics of Softmax Self-Attention: Fast Global Convergence via
Preconditioning", arXiv 2603.01514 (THEOREMS.md, Part B; seed 004).

Only the abstract is public. The setting (:mod:`theorems.attention_regressor`) and the whole algorithm below are
[recon]; every choice is an option of :func:`trace_regression` and is written into each record and report.

Algorithm [recon], in whitened coordinates At = A W, C = W B W (W = S^{1/2}, S the sample covariance; with
``gradient="population"`` W = Sigma^{1/2}):

- gradient: ``finite`` (default) uses the exact gradient of L_n mapped by the chain rule,
  gAt = dL_n/dA W^{-1}, gC = W^{-1} dL_n/dB W^{-1}; in the n -> inf limit these are E C and E^T At with
  E = At C^T - T. ``population`` uses E C and E^T At with T = M Sigma^{1/2} exactly.
- regularizer (option): (lambda/4) ||At^T At - C^T C||_F^2, gradient (lambda At D, -lambda C D), D = At^T At - C^T C.
- ``precond`` step (ScaledGD-type): At <- At - eta gAt (C^T C + delta_C I)^{-1}, C <- C - eta gC (At^T At +
  delta_A I)^{-1}, both from the same iterate, with delta_X = damping * ||X||_op^2 + damping_abs (the damping
  makes the inverse exist when d_y < d pads C with zero columns).
- ``gd`` step: plain GD on (A, B) with step eta / L_est, L_est = ||S|| max(1, ||S||) (||At_0||^2 + ||C_0||^2 +
  2 ||T||) a Lipschitz estimate fixed at the start (no per-instance tuning).
- renormalization (option): after each step (A, B) <- (cA, B/c), i.e. (At, C) <- (c At, C/c), with rule
  ``cap``: c = max(1, ||C||_op / beta) (keeps the logit scale ||C||_op <= beta), or ``balance``: c =
  sqrt(||C||_F / ||At||_F).
- init: ``spectral`` At_0 = U diag(s)^{1/2}, C_0 = V diag(s)^{1/2} from the SVD of T_hat = C_yx S^{-1/2};
  ``random`` A_0, B_0 i.i.d. N(0, scale^2/d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy
from hypothesis import strategies as st

from theorems import attention_regressor as ar
from verify.checks import check_order, fit_power
from verify.errors import VerifyInputError
from verify.provenance import prov
from verify.stat_checks import check_comparison, check_identity, check_probability, steps_to_reach
from verify.theory import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    Assumption,
    AssumptionResult,
    Claim,
    Evidence,
    Reference,
    Settings,
    TheoremModule,
)

RECORD_KEYS = ("t", "train_loss", "test_error", "pop_loss", "factor_error", "balance", "norm_A", "norm_B")

DEFAULT_OPTIONS: dict[str, Any] = {
    "method": "precond", "steps": 200, "eta": 0.5, "regularizer": True, "lam": 1.0, "renorm": True,
    "renorm_rule": "cap", "beta": 0.5, "init": None, "init_scale": None, "init_seed": None, "checkpoints": None,
    "gradient": "finite", "damping": 0.1, "damping_abs": 1e-12, "exclude_self": False,
    "reg_preconditioned": False,
}
"""Defaults of :func:`trace_regression` [recon]. ``init``/``init_scale`` None: the instance's own; ``init_seed``
None: instance seed + 1."""


def resolve_options(options: dict | None) -> dict:
    """Fill defaults and validate; unknown keys or values are one-line VerifyInputErrors."""
    opts = dict(DEFAULT_OPTIONS)
    for k, v in (options or {}).items():
        if k not in DEFAULT_OPTIONS:
            raise VerifyInputError(f"unknown option {k!r}; known: {sorted(DEFAULT_OPTIONS)}")
        opts[k] = v
    if opts["method"] not in ("gd", "precond"):
        raise VerifyInputError(f"option 'method' must be 'gd' or 'precond'; got {opts['method']!r}")
    if opts["gradient"] not in ("finite", "population"):
        raise VerifyInputError(f"option 'gradient' must be 'finite' or 'population'; got {opts['gradient']!r}")
    if opts["renorm_rule"] not in ("cap", "balance"):
        raise VerifyInputError(f"option 'renorm_rule' must be 'cap' or 'balance'; got {opts['renorm_rule']!r}")
    if opts["init"] is not None and opts["init"] not in ar.INIT_KINDS:
        raise VerifyInputError(f"option 'init' must be one of {ar.INIT_KINDS}; got {opts['init']!r}")
    if not isinstance(opts["steps"], int) or opts["steps"] < 1:
        raise VerifyInputError(f"option 'steps' must be a positive integer; got {opts['steps']!r}")
    for k in ("eta", "beta"):
        if not (isinstance(opts[k], (int, float)) and math.isfinite(opts[k]) and opts[k] > 0):
            raise VerifyInputError(f"option {k!r} must be a positive number; got {opts[k]!r}")
    return opts


def log_checkpoints(steps: int, per_decade: int = 12) -> list[int]:
    """0 plus ~per_decade log-spaced integers up to ``steps``."""
    k = max(2, int(per_decade * math.log10(max(steps, 10))))
    return [0] + sorted({int(round(x)) for x in np.logspace(0, math.log10(steps), k)})


@dataclass
class _Run:
    data: ar.Data
    wh: ar.Whitening  # the coordinates the step works in
    pop: ar.Whitening  # Sigma^{1/2}, for the population metrics
    T: np.ndarray  # target in ``wh`` coordinates (T_hat for finite, M Sigma^{1/2} for population)
    opts: dict


def _grad_white(run: _Run, At: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    o = run.opts
    if o["gradient"] == "population":
        E = At @ C.T - run.T
        gAt, gC = E @ C, E.T @ At
    else:
        A, B = run.wh.from_white(At, C)
        _, gA, gB = ar.train_loss_grad(A, B, run.data.X, run.data.Y, o["exclude_self"])
        gAt, gC = run.wh.grad_to_white(gA, gB)
    return gAt, gC


def _reg_grad(At: np.ndarray, C: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of (lam/4) ||At^T At - C^T C||_F^2: (lam At D, -lam C D) with D = At^T At - C^T C."""
    D = At.T @ At - C.T @ C
    return lam * At @ D, -lam * C @ D


def _damped_inv(Z: np.ndarray, o: dict) -> np.ndarray:
    G = Z.T @ Z
    op = float(np.linalg.norm(Z, 2)) ** 2
    return np.linalg.inv(G + (o["damping"] * op + o["damping_abs"]) * np.eye(G.shape[0]))


def _renorm(At: np.ndarray, C: np.ndarray, o: dict) -> tuple[np.ndarray, np.ndarray]:
    if o["renorm_rule"] == "cap":
        c = max(1.0, float(np.linalg.norm(C, 2)) / o["beta"])
    else:
        na, nc = float(np.linalg.norm(At)), float(np.linalg.norm(C))
        c = math.sqrt(nc / na) if na > 0 and nc > 0 else 1.0
    return c * At, C / c


def _record(run: _Run, t: int, At: np.ndarray, C: np.ndarray) -> dict:
    data, o = run.data, run.opts
    A, B = run.wh.from_white(At, C)
    E = (A @ data.Sigma @ B.T - data.M) @ run.pop.W
    T_pop = data.M @ run.pop.W
    D = At.T @ At - C.T @ C
    vals = {
        "t": t,
        "train_loss": ar.train_loss(A, B, data.X, data.Y, o["exclude_self"]),
        "test_error": ar.test_error(A, B, data),
        "pop_loss": 0.5 * float(np.sum(E * E)),
        "factor_error": float(np.linalg.norm(E) / max(np.linalg.norm(T_pop), 1e-300)),
        "balance": float(np.linalg.norm(D)),
        "norm_A": float(np.linalg.norm(A)),
        "norm_B": float(np.linalg.norm(B)),
        "logit_scale": float(np.linalg.norm(C, 2)),
    }
    vals["ok"] = all(math.isfinite(v) for k, v in vals.items() if k != "t")
    return vals


def make_run(inst: ar.RegressionInstance, opts: dict) -> _Run:
    data = ar.realize(inst)
    pop = ar.Whitening.of(data.Sigma)
    if opts["gradient"] == "population":
        return _Run(data, pop, pop, data.M @ pop.W, opts)
    wh = ar.Whitening.of(data.S)
    return _Run(data, wh, pop, ar.whitened_target(data, wh), opts)


def initial_point(inst: ar.RegressionInstance, run: _Run) -> tuple[np.ndarray, np.ndarray]:
    o = run.opts
    kind = o["init"] or inst.init_kind
    if kind == "spectral":
        return ar.spectral_init(run.data, run.wh)
    scale = inst.init_scale if o["init_scale"] is None else float(o["init_scale"])
    seed = inst.seed + 1 if o["init_seed"] is None else int(o["init_seed"])
    A0, B0 = ar.random_init(run.data, inst.d_y, scale, seed)
    return run.wh.to_white(A0, B0)


def trace_regression(instance: ar.RegressionInstance, options: dict) -> list[dict]:
    """Run one method on one instance; one dict per checkpoint with keys RECORD_KEYS (+ logit_scale, ok).

    ``options``: method "gd"|"precond", steps, eta, regularizer, lam, renorm, renorm_rule "cap"|"balance",
    beta, init "spectral"|"random", init_scale, init_seed, checkpoints (list or None = log-spaced), gradient
    "finite"|"population", damping, damping_abs, exclude_self. See DEFAULT_OPTIONS and the module docstring.
    A non-finite iterate stops the run; its last record has ``ok`` False.
    """
    o = resolve_options(options)
    run = make_run(instance, o)
    At, C = initial_point(instance, run)
    steps = o["steps"]
    cps = sorted({int(c) for c in (o["checkpoints"] or log_checkpoints(steps)) if 0 <= int(c) <= steps})
    want = set(cps)
    if o["method"] == "gd":
        S = run.wh.W @ run.wh.W
        s_op = float(np.linalg.norm(S, 2))
        L_est = s_op * max(1.0, s_op) * (float(np.linalg.norm(At, 2)) ** 2 + float(np.linalg.norm(C, 2)) ** 2
                                         + 2 * float(np.linalg.norm(run.T, 2)))
        eta_gd = o["eta"] / L_est
    out: list[dict] = []
    for t in range(steps + 1):
        if t in want:
            rec = _record(run, t, At, C)
            out.append(rec)
            if not rec["ok"]:
                break
        if t == steps:
            break
        gAt, gC = _grad_white(run, At, C)
        rAt, rC = _reg_grad(At, C, o["lam"]) if o["regularizer"] else (0.0 * At, 0.0 * C)
        if o["method"] == "precond":
            dAt, dC = gAt @ _damped_inv(C, o), gC @ _damped_inv(At, o)
            if o["reg_preconditioned"]:
                dAt, dC = dAt + rAt @ _damped_inv(C, o), dC + rC @ _damped_inv(At, o)
            else:  # scalar preconditioner: keeps the regularizer's step stable whatever the scale
                sc = float(np.linalg.norm(At, 2)) ** 2 + float(np.linalg.norm(C, 2)) ** 2
                dAt, dC = dAt + rAt / sc, dC + rC / sc
            At, C = At - o["eta"] * dAt, C - o["eta"] * dC
        else:
            gAt, gC = gAt + rAt, gC + rC
            gA, gB = run.wh.grad_from_white(gAt, gC)
            A, B = run.wh.from_white(At, C)
            At, C = run.wh.to_white(A - eta_gd * gA, B - eta_gd * gB)
        if o["renorm"]:
            At, C = _renorm(At, C, o)
        if not (np.all(np.isfinite(At)) and np.all(np.isfinite(C))):
            out.append({**{k: math.nan for k in RECORD_KEYS}, "t": t + 1, "logit_scale": math.nan, "ok": False})
            break
    return out
