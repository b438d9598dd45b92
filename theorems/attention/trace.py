"""``verify trace`` for attention classification: metrics at checkpoints of one run, as JSON-able rows."""

from __future__ import annotations

import math

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.svm import solve_att_svm
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.methods import make_method, method_spec
from verify.trajectory import log_checkpoints, run

INITS = ("instance", "zero", "random", "cone")


def initial_point(inst: ac.AttentionInstance, init: str, *, scale: float = 1.0, seed: int = 0,
                  cone_mu: float = 0.05, alpha: list[int] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(W0, u0) for a run. ``instance``: the file's W0 (u0 = 0 when joint); ``zero``: both 0; ``random``:
    W0 = scale * N(0, I/d^2) entrywise (||W0||_F about scale) and u0 = scale * N(0, I/d); ``cone``: W0 of norm
    scale * ||W_mm(alpha)|| with corr(W0, W_mm(alpha)) >= 1 - cone_mu (alpha default opt), u0 = 0."""
    from theorems.attention.strategies import cone_init

    d = inst.d
    if init == "instance":
        return inst.W0, None
    if init == "zero":
        return np.zeros((d, d)), None
    if not (math.isfinite(scale) and scale > 0):
        raise VerifyInputError(f"--init-scale must be a positive number, got {scale}")
    rng = np.random.default_rng(seed)
    if init == "random":
        return scale * rng.normal(size=(d, d)) / d, scale * rng.normal(size=d) / math.sqrt(d)
    if init == "cone":
        if not 0 < cone_mu < 1:
            raise VerifyInputError(f"--cone-mu must lie in (0, 1), got {cone_mu}")
        a = alpha if alpha is not None else [int(v) for v in ac.optimal_tokens(inst)]
        if len(a) != inst.n or not all(0 <= v < inst.T for v in a):
            raise VerifyInputError(f"--alpha needs {inst.n} token indices in [0, {inst.T})")
        return cone_init(solve_att_svm(inst.X, inst.z, a).W, rng, cone_mu, scale), None
    raise VerifyInputError(f"unknown --init {init!r}; expected one of {', '.join(INITS)}")


def trace_attention(inst: ac.AttentionInstance, *, method: str, eta: float, steps: int,
                    checkpoints: list[int] | None, backend: str = "numpy", dps: int = 50,
                    representation: str = "gram", polyak_c: float = 1.0, joint: bool = False,
                    normalize: str = "joint", init: str = "instance", init_scale: float = 1.0, init_seed: int = 0,
                    cone_mu: float = 0.05, alpha: list[int] | None = None) -> list[dict]:
    """One row per checkpoint: t, dir_err, corr (against the certified W_mm), max_nonopt_attention, loss_gap
    (and their log10, which stay finite far below float64's range), norm, precision_ok. A joint run adds
    u_dir_err (against the certified decoder SVM u_mm), loss and log10_loss (L* = 0, so loss_gap = loss)."""
    rule = make_method(method, eta=eta, c=polyak_c, normalize=normalize)
    if ac.score_gaps(inst).min() <= 0:
        raise VerifyInputError("the optimal token is not unique (tied token scores): W_mm and L* are undefined")
    W0, u0 = initial_point(inst, init, scale=init_scale, seed=init_seed, cone_mu=cone_mu, alpha=alpha)
    inst = inst.with_W0(W0)
    opt = [int(a) for a in ac.optimal_tokens(inst)]
    W_mm = solve_att_svm(inst.X, inst.z, opt).W
    bk = get_backend(backend, dps)
    cps = checkpoints if checkpoints is not None else log_checkpoints(steps)
    if joint:
        from theorems.attention.joint import build_joint_problem, u_direction_error
        from theorems.attention.svm import solve_decoder_svm

        u_mm = solve_decoder_svm(inst.X, inst.y, opt).u
        u_start = None if u0 is None else u0[None]
        tr = run(build_joint_problem(bk, [inst], u_start), rule, steps, cps)
        W = tr.series("Wmat")
        u_err = u_direction_error(tr.series("u"), u_mm)
        log_gap = tr.series("log_loss")
    else:
        if not method_spec(method).along_gradient:  # an elementwise update (Adam, sign) needs W itself
            representation = "dense"
        tr = run(ac.build_problem(bk, ac.stack([inst]), representation), rule, steps, cps)
        W = tr.series("W")
        log_gap = tr.series("log_loss_gap")
    with np.errstate(invalid="ignore", divide="ignore"):
        err, corr = ac.direction_error(W, W_mm)
    rows = []
    for k, t in enumerate(tr.t):
        lg, la = float(log_gap[k]), float(tr.series("log_max_nonopt")[k])
        row = {
            "t": t, "dir_err": float(err[k]), "corr": float(corr[k]),
            "max_nonopt_attention": math.exp(la), "log10_max_nonopt_attention": la / math.log(10),
            "loss_gap": math.exp(lg), "log10_loss_gap": lg / math.log(10),
            "norm": float(tr.series("norm")[k]), "precision_ok": bool(tr.precision_ok[k, 0]),
        }
        if joint:
            row.update({"u_dir_err": float(u_err[k]), "loss": float(tr.series("loss")[k]),
                        "log10_loss": lg / math.log(10), "u_norm": float(tr.series("u_norm")[k])})
        rows.append(row)
    return rows
