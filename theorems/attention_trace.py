"""``verify trace`` for attention classification: metrics at checkpoints of one run, as JSON-able rows."""

from __future__ import annotations

import math

import numpy as np

from theorems import attention_classifier as ac
from verify.backends import get_backend
from verify.methods import make_rule
from verify.svm import solve_att_svm
from verify.trajectory import log_checkpoints, run


def trace_attention(inst: ac.AttentionInstance, *, method: str, eta: float, steps: int,
                    checkpoints: list[int] | None, backend: str = "numpy", dps: int = 50,
                    representation: str = "gram", polyak_c: float = 1.0) -> list[dict]:
    """One row per checkpoint: t, dir_err, corr (against the certified W_mm), max_nonopt_attention, loss_gap
    (and their log10, which stay finite far below float64's range), norm, precision_ok."""
    rule = make_rule(method, eta=eta, c=polyak_c)
    if ac.score_gaps(inst).min() <= 0:
        from verify.errors import VerifyInputError

        raise VerifyInputError("the optimal token is not unique (tied token scores): W_mm and L* are undefined")
    W_mm = solve_att_svm(inst.X, inst.z, [int(a) for a in ac.optimal_tokens(inst)]).W
    bk = get_backend(backend, dps)
    problem = ac.build_problem(bk, ac.stack([inst]), representation)
    tr = run(problem, rule, steps, checkpoints if checkpoints is not None else log_checkpoints(steps))
    W = tr.series("W")
    with np.errstate(invalid="ignore", divide="ignore"):
        err, corr = ac.direction_error(W, W_mm)
    rows = []
    for k, t in enumerate(tr.t):
        lg, la = float(tr.series("log_loss_gap")[k]), float(tr.series("log_max_nonopt")[k])
        rows.append({
            "t": t, "dir_err": float(err[k]), "corr": float(corr[k]),
            "max_nonopt_attention": math.exp(la), "log10_max_nonopt_attention": la / math.log(10),
            "loss_gap": math.exp(lg), "log10_loss_gap": lg / math.log(10),
            "norm": float(tr.series("norm")[k]), "precision_ok": bool(tr.precision_ok[k, 0]),
        })
    return rows
