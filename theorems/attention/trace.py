"""``verify trace`` for attention classification: metrics at checkpoints of one run, as JSON-able rows."""

from __future__ import annotations

import math
from typing import Any

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
                    cone_mu: float = 0.05, alpha: list[int] | None = None,
                    max_prec: int | None = None) -> list[dict]:
    """One row per checkpoint: t, dir_err, corr (against the certified W_mm), max_nonopt_attention, loss_gap
    (and their log10, which stay finite far below float64's range), norm, precision_ok. A joint run adds
    u_dir_err (against the certified decoder SVM u_mm), loss and log10_loss (L* = 0, so loss_gap = loss).

    ``backend="arb"``: Arb balls (gd, ngd, polyak on a fixed decoder), starting at ``dps`` digits' bits and doubling
    up to ``max_prec`` bits (verify.arb.run_rigorous); the rows then also give the balls' widths
    (:func:`_ball_widths`)."""
    rule = make_method(method, eta=eta, c=polyak_c, normalize=normalize)
    if ac.score_gaps(inst).min() <= 0:
        raise VerifyInputError("the optimal token is not unique (tied token scores): W_mm and L* are undefined")
    W0, u0 = initial_point(inst, init, scale=init_scale, seed=init_seed, cone_mu=cone_mu, alpha=alpha)
    inst = inst.with_W0(W0)
    opt = [int(a) for a in ac.optimal_tokens(inst)]
    W_mm = solve_att_svm(inst.X, inst.z, opt).W
    bk = get_backend(backend, dps)
    cps = checkpoints if checkpoints is not None else log_checkpoints(steps)
    balls = backend == "arb"
    if joint:
        from theorems.attention.joint import build_joint_problem, u_direction_error
        from theorems.attention.svm import solve_decoder_svm

        u_mm = solve_decoder_svm(inst.X, inst.y, opt).u
        u_start = None if u0 is None else u0[None]
        if backend == "jax":
            raise VerifyInputError("--backend jax runs fixed-decoder traces; joint training on jax is not "
                                   "supported yet")
        if balls:  # rigorous balls (verify.arb.run_rigorous; theorems.attention.joint reads their widths)
            if not method_spec(method).along_gradient:
                raise VerifyInputError(f"--backend arb runs the methods along the gradient (gd, ngd, polyak), not "
                                       f"{method!r}: an elementwise update would branch on the signs of balls")
            from verify.arb import DEFAULT_MAX_PREC, run_rigorous

            tr = run_rigorous(lambda b: build_joint_problem(b, [inst], u_start), rule, steps, cps, dps=dps,
                              max_prec=DEFAULT_MAX_PREC if max_prec is None else max_prec)
        else:
            tr = run(build_joint_problem(bk, [inst], u_start), rule, steps, cps)
        W = tr.series("Wmat")
        u_err = u_direction_error(tr.series("u"), u_mm)
        log_gap = tr.series("log_loss")
    else:
        if not method_spec(method).along_gradient:  # an elementwise update (Adam, sign) needs W itself
            if balls:
                raise VerifyInputError(f"--backend arb runs the methods along the gradient (gd, ngd, polyak), not "
                                       f"{method!r}: an elementwise update would branch on the signs of balls")
            representation = "dense"
        batch = ac.stack([inst])
        if balls:
            from verify.arb import DEFAULT_MAX_PREC, run_rigorous

            tr = run_rigorous(lambda b: ac.build_problem(b, batch, representation), rule, steps, cps, dps=dps,
                              max_prec=DEFAULT_MAX_PREC if max_prec is None else max_prec)
        else:
            tr = run(ac.build_problem(bk, batch, representation), rule, steps, cps)
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
    if balls and joint:
        _joint_ball_widths(rows, tr)
    elif balls:
        _ball_widths(rows, tr, W_mm)
    return rows


def _joint_ball_widths(rows: list[dict], tr: Any) -> None:
    """A joint run's arb rows: ``dps`` (the digits the run started at) and ``log10_W_rad`` (log10 of the largest
    radius of an entry of u_t or W_t); the metrics are the balls' midpoints'. The last row gains ``notes``."""
    for k, row in enumerate(rows):
        row.update({"dps": tr.dps, "log10_W_rad": float(np.max(tr.series("W_log10_rad")[k]))})
    if rows:
        rows[-1]["notes"] = list(tr.notes)


def _ball_widths(rows: list[dict], tr: Any, W_mm: np.ndarray) -> None:
    """The arb backend's rows: how wide the enclosures are. Each row gains ``dps`` (the digits of the precision
    the run ended at), ``log10_W_rad`` (log10 of the largest radius of an entry of W_t), ``dir_err_rad`` and
    ``log10_dir_err_rad`` (the radius of the direction error's ball, formed in balls from W_t's balls and the
    certified W_mm's float64 entries taken as exact; ``dir_err`` is then that ball's midpoint),
    ``log10_loss_gap_rel_rad`` and ``log10_max_nonopt_rel_rad`` (log10 of the relative widths of the loss
    gap's and the non-optimal attention's balls), ``log10_norm_rad`` and ``selected_certain`` (every sequence's
    top logit ball lies above the others; at t = 0 from W0 = 0 all logits are exactly tied, so False there is no
    loss of rigor: the top token is only a reference, and every choice gives the same exact value). The last
    row gains ``notes``: the precision the run needed and, if it did, that it gave up."""
    from verify.arb import log10_radius, working_precision

    bits = int(math.ceil(tr.dps / math.log10(2)))
    with working_precision(bits + 64):
        import flint

        Vb = np.vectorize(flint.arb, otypes=[object])(W_mm)
        Vn = Vb / np.sum(Vb * Vb).sqrt()
        for k, row in enumerate(rows):
            W = tr.series("W_ball")[k]
            Wn = W / np.sum(W * W).sqrt()
            diff = Wn - Vn
            e = np.sum(diff * diff).sqrt()
            le = float(log10_radius(np.array([e], dtype=object))[0]) if math.isfinite(row["dir_err"]) else math.nan
            if math.isfinite(row["dir_err"]):
                row["dir_err"] = float(e.mid())  # from W_t's balls, not from its float64 midpoints
            row.update({
                "dps": tr.dps,
                "log10_W_rad": float(np.max(tr.series("W_log10_rad")[k])),
                "dir_err_rad": 10.0 ** le if not le <= -300 else (0.0 if le == -math.inf else math.ulp(0.0)),
                "log10_dir_err_rad": le,
                "log10_loss_gap_rel_rad": _log10_rel(float(tr.series("log_loss_gap_log10_rad")[k])),
                "log10_max_nonopt_rel_rad": _log10_rel(float(tr.series("log_max_nonopt_log10_rad")[k])),
                "log10_norm_rad": float(tr.series("norm_log10_rad")[k]),
                "selected_certain": bool(np.all(tr.series("selected_certain")[k])),
            })
    rows[-1]["notes"] = list(tr.notes)


def _log10_rel(log10_r: float) -> float:
    """log10 of the relative width e^r - 1 of a value whose natural log has a ball of radius r = 10^log10_r:
    e^r - 1 <= r e^r, so log10 r + r log10(e) bounds it (r below float64's range adds nothing)."""
    if not math.isfinite(log10_r):
        return log10_r
    r = 10.0 ** log10_r if log10_r > -300 else 0.0
    return log10_r + r * math.log10(math.e) + 1e-12 * max(1.0, abs(log10_r))
