"""``verify trace --method lp-md``: metrics along one lp mirror-descent run (JTA24), as JSON-able rows.

Each row: t, bregman (D(t) of W_t against the certified lp-Att-SVM of the tokens the run selects at the end,
``svm_alpha``), selected (the argmax-attention token of each sequence at t), norm_p (||W_t||_p), loss and
log10 of the loss gap (L - L* for a fixed decoder, L for joint training), precision_ok; joint runs add
u_bregman (D of u_t against the certified lp decoder SVM of the same tokens) and u_norm_p. ``backend="arb"`` (a
fixed decoder): W_t in Arb balls (verify.arb.run_rigorous; the mirror map's exponents exact), rows add
log10_W_rad and the run's notes; bregman and norm_p are computed from the balls' midpoints.
"""

from __future__ import annotations

import math

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.lp import JointProblem, bregman_direction, fixed_decoder_problem
from theorems.attention.svm_lp import check_p, solve_lp_att_svm, solve_lp_decoder_svm
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.methods import make_method
from verify.trajectory import log_checkpoints, run


def trace_lp(inst: ac.AttentionInstance, *, p: float, eta: float, steps: int, checkpoints: list[int] | None,
             normalized: bool = False, joint: bool = False, blockwise: bool = True, backend: str = "numpy",
             dps: int = 50) -> list[dict]:
    """Run lp-AttGD (or lp-JointGD on (W, u) from u0 = the instance's u) and return one row per checkpoint."""
    p = check_p(p)
    if not (math.isfinite(eta) and eta > 0):
        raise VerifyInputError(f"--eta must be a positive finite number, got {eta!r}")
    if backend not in ("numpy", "mpmath", "arb"):
        raise VerifyInputError(f"lp-md runs on the numpy, mpmath or arb backend, not {backend!r}")
    method = make_method("lp-md", normalize="block" if blockwise else "joint", p=p, eta=eta, normalized=normalized)
    cps = checkpoints if checkpoints is not None else log_checkpoints(steps)
    balls = backend == "arb"
    if balls:  # rigorous balls (verify.arb.run_rigorous): the fixed decoder only
        if joint:
            raise VerifyInputError("--backend arb runs lp-md on a fixed decoder; joint training (its kernel takes "
                                   "maxima and estimates its error instead of reading ball widths) is not covered")
        from verify.arb import run_rigorous

        tr = run_rigorous(lambda b: fixed_decoder_problem(b, inst), method, steps, cps,
                          dps=50 if dps is None else dps)
    else:
        bk = get_backend(backend, dps)
        problem = JointProblem.build(bk, inst) if joint else fixed_decoder_problem(bk, inst)
        tr = run(problem, method, steps, cps)
    alpha = tuple(int(a) for a in tr.series("selected")[-1])
    sol = solve_lp_att_svm(inst.X, inst.z, alpha, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        D = bregman_direction(tr.series("W"), sol.W, p)
        Du = None
        if joint:
            usol = solve_lp_decoder_svm(inst.X, inst.y, alpha, p)
            Du = bregman_direction(tr.series("u"), usol.W, p)
    rows = []
    for k, t in enumerate(tr.t):
        W = tr.series("W")[k]
        lg = float(tr.series("log_loss_gap")[k])
        row = {"t": t, "bregman": float(D[k]), "selected": [int(a) for a in tr.series("selected")[k]],
               "svm_alpha": list(alpha), "svm_certified": sol.certified,
               "norm_p": float(np.linalg.norm(W.ravel(), ord=p)), "loss": float(tr.series("loss")[k]),
               "log10_loss_gap": lg / math.log(10), "precision_ok": bool(tr.precision_ok[k, 0])}
        if Du is not None:
            row["u_bregman"] = float(Du[k])
            row["u_norm_p"] = float(np.linalg.norm(tr.series("u")[k], ord=p))
        if balls:  # how wide the enclosures of W_t are (bregman and norm_p are the midpoints')
            row["log10_W_rad"] = float(np.max(tr.records["W_log10_rad"][k]))
            row["notes"] = list(tr.notes)
        rows.append(row)
    return rows
