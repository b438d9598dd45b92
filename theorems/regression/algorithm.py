r"""The reconstructed training of the softmax regressor [recon], as a problem for :func:`verify.trajectory.run`.

Coordinates. The step works in whitened coordinates At = A W, C = W B W, T = M W with W = S^{1/2} (S the sample
covariance; W = Sigma^{1/2} with ``gradient="population"``), where L_inf = (1/2)||At C^T - T||^2. Plain GD runs
on (A, B) themselves. The parameters are the tuple (At, C) or (A, B), batched with a leading axis of 1.

Objective. F = L_n + R, with the balancing regularizer R = (lam/4)||At^T At - C^T C||_F^2 when it is on. The
problem reports the gradient of F and of each term (``terms["loss"]``, ``terms["reg"]``) in its coordinates:

    grad_{At,C} L_n = (dL/dA W^{-1}, W^{-1} dL/dB W^{-1})  (``finite``: the chain rule on the exact gradient)
                    = (E C, E^T At),  E = At C^T - T      (``population``: the n -> inf limit, for identity checks)
    grad_{At,C} R   = (lam At D, -lam C D),  D = At^T At - C^T C
    grad_{A,B}      = (g_At W, W g_C W)                   (the same gradients in (A, B) coordinates)

Methods (:mod:`verify.methods`, step length eta):

- ``precond`` (ScaledGD type): At <- At - eta [g_At P_C + r_At / s], C <- C - eta [g_C P_A + r_C / s], both from
  the same iterate, with P_X = (X^T X + delta_X I)^{-1}, delta_X = damping ||X||_op^2 + damping_abs and the
  scalar s = ||At||_op^2 + ||C||_op^2: ``sum_of((gradient(term="loss"), precondition(P)), (gradient(term="reg"),
  precondition(1/s)))`` then ``scale(eta)``; with ``reg_preconditioned`` the regularizer is preconditioned like
  the loss (``gradient()``, ``precondition(P)``); without the regularizer only the loss term.
- ``gd``: the table's GD on (A, B) with step eta / L_est, L_est = ||S|| max(1, ||S||)(||At_0||^2 + ||C_0||^2 +
  2||T||) fixed at the start (a Lipschitz estimate).
- renormalization (``renorm``): after each step (At, C) <- (c At, C / c), i.e. (A, B) <- (c A, B / c), the
  :func:`verify.methods.projected` geometry: ``cap`` c = max(1, ||C||_op / beta), ``balance``
  c = sqrt(||C||_F / ||At||_F). It is not a gradient step: it moves along the symmetry of the product, so L_inf
  is unchanged, while the finite-n gap of L_n (whose constant grows like exp(||B^T x||^2)) stays small.

Precision. ``rel_error`` is a first-order bound on the gradient's rounding error relative to the size of its
summands: (n + d + 8) u ||(|F| + |Y|)^T P |X| / n|| / || |R|^T P |X| || for the A block (R = (F - Y)/n is
computed from F and Y, so its rounding is u (|F| + |Y|)/n), the same for B, E = At C^T - T and D, plus twice the
logits' error; the runner flags a step above its tolerance (1e-8). So cancellation in a residual (a fit at
rounding level, as the population gradient reaches at its optimum) is flagged, while the cancellation of the
sum over tokens near a stationary point of L_n is not: both methods step by a multiple of the gradient (no
normalization), so there a direction that is rounding noise moves the iterate by a rounding-level amount. For
the same reason the iterate is not handed to the runner's "did not move" watch: the methods converge, and the
preconditioned step with the regularizer reaches a fixed point where grad F is not zero (the two terms are
stepped with different preconditioners). A non-finite iterate is flagged by the runner (its gradient norm is
not finite) and all its metrics are nan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from theorems.regression import regressor as ar
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.methods import Chain, chain, gradient, make_method, precondition, projected, scale, sum_of
from verify.trajectory import Trajectory, log_checkpoints, run

DEFAULT_OPTIONS: dict[str, Any] = {
    "method": "precond",
    "steps": 200,
    "eta": 0.5,
    "regularizer": True,
    "lam": 1.0,
    "renorm": True,
    "renorm_rule": "cap",
    "beta": 0.5,
    "init": None,
    "init_scale": None,
    "init_seed": None,
    "checkpoints": None,
    "gradient": "finite",
    "damping": 0.1,
    "damping_abs": 1e-12,
    "exclude_self": False,
    "reg_preconditioned": False,
}
"""Defaults of :func:`train` [recon]. ``init``/``init_scale`` None: the instance's own; ``init_seed`` None:
instance seed + 1; ``checkpoints`` None: t = 0 and 12 log-spaced checkpoints per decade."""

CHECKPOINTS_PER_DECADE = 12
METRICS = ("train_loss", "test_error", "pop_loss", "factor_error", "balance", "norm_A", "norm_B", "logit_scale")
"""The float64 metrics recorded at every checkpoint (``Trajectory.series(name)``)."""


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


# ---------------------------------------------------------------------------------------------- set-up
@dataclass
class Setup:
    """An instance made concrete for training: the data, the step's whitening, the population whitening
    Sigma^{1/2} (for the metrics), the target in the step's coordinates and the resolved options."""

    data: ar.Data
    wh: ar.Whitening
    pop: ar.Whitening
    T: np.ndarray  # T_hat = C_yx S^{-1/2} (finite) or M Sigma^{1/2} (population)
    opts: dict


def make_setup(inst: ar.RegressionInstance, opts: dict) -> Setup:
    data = ar.realize(inst)
    pop = ar.Whitening.of(data.Sigma)
    if opts["gradient"] == "population":
        return Setup(data, pop, pop, data.M @ pop.W, opts)
    wh = ar.Whitening.of(data.S)
    return Setup(data, wh, pop, ar.whitened_target(data, wh), opts)


def initial_point(inst: ar.RegressionInstance, setup: Setup) -> tuple[np.ndarray, np.ndarray]:
    """(At_0, C_0): the spectral initialization, or random A_0, B_0 (scale, seed) in whitened coordinates."""
    o = setup.opts
    kind = o["init"] or inst.init_kind
    if kind == "spectral":
        return ar.spectral_init(setup.data, setup.wh)
    scale_ = inst.init_scale if o["init_scale"] is None else float(o["init_scale"])
    seed = inst.seed + 1 if o["init_seed"] is None else int(o["init_seed"])
    A0, B0 = ar.random_init(setup.data, inst.d_y, scale_, seed)
    return setup.wh.to_white(A0, B0)


def op_norm(X: np.ndarray) -> float:
    """||X||_op, the largest singular value (what ``np.linalg.norm(X, 2)`` computes); nan for a non-finite X,
    where the SVD would not converge."""
    return float(np.linalg.svd(X, compute_uv=False)[0]) if np.all(np.isfinite(X)) else math.nan


def spectral_distance(inst: ar.RegressionInstance) -> float:
    """||E_0||_op / sigma_min(T) with E_0 = (A_0 Sigma B_0^T - M) Sigma^{1/2} at the spectral init (population
    whitening), T = M Sigma^{1/2}: the relative distance to the manifold of global minima of L_inf."""
    data = ar.realize(inst)
    wh = ar.Whitening.of(data.S)
    A0, B0 = wh.from_white(*ar.spectral_init(data, wh))
    pw = ar.sym_sqrt(data.Sigma)
    E = (A0 @ data.Sigma @ B0.T - data.M) @ pw
    s = np.linalg.svd(data.M @ pw, compute_uv=False)
    return float(np.linalg.norm(E, 2) / s[-1])


# ---------------------------------------------------------------------------------------------- the problem
class Term(NamedTuple):
    """The gradient of one term of the objective, as verify.methods reads it (blocks batched, leading axis 1)."""

    unit_grad: tuple[np.ndarray, np.ndarray]
    log_grad_norm: np.ndarray
    block_unit_grad: tuple[np.ndarray, np.ndarray]
    block_log_grad_norm: tuple[np.ndarray, np.ndarray]


class TrainingFirstOrder(NamedTuple):
    """First order of F = L_n (+ R): the whole gradient, each term's (``terms``), the iterate in whitened
    coordinates (``white``) and its operator norms (``white_op``), both for the preconditioners, log(F - F*) =
    nan (F* is unknown and no method here reads it) and the gradient's estimated relative rounding error."""

    unit_grad: tuple[np.ndarray, np.ndarray]
    log_grad_norm: np.ndarray
    block_unit_grad: tuple[np.ndarray, np.ndarray]
    block_log_grad_norm: tuple[np.ndarray, np.ndarray]
    log_loss_gap: np.ndarray
    rel_error: np.ndarray
    terms: dict[str, Term]
    white: tuple[np.ndarray, np.ndarray]
    white_op: tuple[float, float]


def _log_norm(sq: float) -> float:
    return 0.5 * math.log(sq) if sq > 0 else (-math.inf if sq == 0 else math.nan)


def _term(g: tuple[np.ndarray, np.ndarray]) -> Term:
    """A gradient (gX, gY) as unit vectors and log norms, over both blocks and per block (batch axis added)."""
    sq = [float(np.sum(x * x)) for x in g]
    tot = math.sqrt(sum(sq))
    unit = tuple((x / tot if tot > 0 else x)[None] for x in g)
    block = tuple((x / math.sqrt(s) if s > 0 else x)[None] for x, s in zip(g, sq, strict=True))
    return Term((unit[0], unit[1]), np.array([_log_norm(sum(sq))]), (block[0], block[1]),
                (np.array([_log_norm(sq[0])]), np.array([_log_norm(sq[1])])))


def _rel(err: tuple[np.ndarray, np.ndarray], mag: tuple[np.ndarray, np.ndarray]) -> float:
    """||err|| / ||mag|| over both blocks (0 for a zero magnitude)."""
    m = math.sqrt(sum(float(np.sum(x * x)) for x in mag))
    e = math.sqrt(sum(float(np.sum(x * x)) for x in err))
    return e / m if m > 0 else 0.0


@dataclass
class TrainingProblem:
    """min F over (At, C) (``coords="white"``) or (A, B) (``coords="raw"``); implements the problem protocol of
    :func:`verify.trajectory.run` (batch of one)."""

    setup: Setup
    start: tuple[np.ndarray, np.ndarray]  # (At_0, C_0), whitened
    coords: str

    def __post_init__(self) -> None:
        self.bk = get_backend("numpy")
        self.u = float(np.finfo(float).eps)

    # coordinates
    def white(self, params: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        X, Y = params[0][0], params[1][0]
        return (X, Y) if self.coords == "white" else self.setup.wh.to_white(X, Y)

    def raw(self, params: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        X, Y = params[0][0], params[1][0]
        return self.setup.wh.from_white(X, Y) if self.coords == "white" else (X, Y)

    def init(self) -> tuple[np.ndarray, np.ndarray]:
        At, C = self.start
        X, Y = (At, C) if self.coords == "white" else self.setup.wh.from_white(At, C)
        return X[None].copy(), Y[None].copy()

    # gradients
    def _loss_grad(self, params: tuple[np.ndarray, np.ndarray]) -> tuple[tuple, tuple, tuple, float]:
        """The gradient of L_n in the problem's coordinates, a first-order bound on its rounding error, the
        componentwise size of its summands, and the logits' absolute error (module docstring)."""
        s, o, u = self.setup, self.setup.opts, self.u
        if o["gradient"] == "population":
            At, C = self.white(params)
            E = At @ C.T - s.T
            mE = np.abs(At) @ np.abs(C).T + np.abs(s.T)  # E is computed from these: its rounding is u mE
            aC, aA = np.abs(C), np.abs(At)
            gp: tuple = (E @ C, E.T @ At)
            ep: tuple = (mE @ aC, mE.T @ aA)
            mp: tuple = (np.abs(E) @ aC, np.abs(E).T @ aA)
            k = (2 * At.shape[1] + 8) * u
            if self.coords == "raw":
                gp, ep, mp = s.wh.grad_from_white(*gp), self._abs_from_white(ep), self._abs_from_white(mp)
            return gp, tuple(k * x for x in ep), mp, 0.0
        A, B = self.raw(params)
        X, Y = s.data.X, s.data.Y
        n, d = X.shape
        P = ar.softmax_weights(X, B, X, o["exclude_self"])
        V = X @ A.T
        F = P @ V
        R = (F - Y) / n
        gA = R.T @ P @ X
        G = R @ V.T
        dZ = P * (G - np.sum(R * F, axis=1, keepdims=True))
        gB = X.T @ dZ @ X
        aX, aV, aF = np.abs(X), np.abs(V), np.abs(F)
        PX = P @ aX
        PVX = [P @ (aV[:, [k]] * aX) for k in range(aV.shape[1])]

        def summands(aR: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Termwise sizes |R|^T P |X| and |X|^T (P o (|R||V|^T + rowsum(|R| o |F|))) |X| (P >= 0), formed
            as sum_k (|R_k| o |X|)^T P (|V_k| o |X|) + (|X| o rowsum)^T P |X| to stay in matrix products."""
            mB = (aX * np.sum(aR * aF, axis=1, keepdims=True)).T @ PX
            for k, Q in enumerate(PVX):
                mB = mB + (aR[:, [k]] * aX).T @ Q
            return aR.T @ PX, mB

        err, mag = summands((aF + np.abs(Y)) / n), summands(np.abs(R))  # R's rounding is u (|F| + |Y|) / n
        logit_err = (d + 2) * u * float(np.max(np.sum(X * X, axis=1))) * float(np.sqrt(np.sum(B * B)))
        g: tuple = (gA, gB)
        if self.coords == "white":
            g = s.wh.grad_to_white(gA, gB)
            Wi = np.abs(s.wh.W_inv)
            err, mag = (err[0] @ Wi, Wi @ err[1] @ Wi), (mag[0] @ Wi, Wi @ mag[1] @ Wi)
        return g, tuple(x * (n + d + 8) * u for x in err), mag, logit_err

    def _abs_from_white(self, mag: tuple) -> tuple:
        W = np.abs(self.setup.wh.W)
        return mag[0] @ W, W @ mag[1] @ W

    def _reg_grad(self, params: tuple[np.ndarray, np.ndarray]) -> tuple[tuple, tuple, tuple]:
        """The regularizer's gradient, its rounding bound and the size of its summands (as for L_n)."""
        lam = float(self.setup.opts["lam"])
        At, C = self.white(params)
        D = At.T @ At - C.T @ C
        aA, aC = np.abs(At), np.abs(C)
        mD = aA.T @ aA + aC.T @ aC  # D is computed from these: its rounding is u mD
        g: tuple = (lam * At @ D, -lam * C @ D)
        err: tuple = (lam * aA @ mD, lam * aC @ mD)
        mag: tuple = (lam * aA @ np.abs(D), lam * aC @ np.abs(D))
        if self.coords == "raw":
            g, err, mag = self.setup.wh.grad_from_white(*g), self._abs_from_white(err), self._abs_from_white(mag)
        k = (At.shape[0] + C.shape[0] + 8) * self.u
        return g, tuple(k * x for x in err), mag

    def first_order(self, params: tuple[np.ndarray, np.ndarray]) -> TrainingFirstOrder:
        with np.errstate(over="ignore", invalid="ignore"):
            g, err, mag, logit_err = self._loss_grad(params)
            terms = {"loss": _term(g)}
            if self.setup.opts["regularizer"]:
                gR, eR, mR = self._reg_grad(params)
                terms["reg"] = _term(gR)
                g = (g[0] + gR[0], g[1] + gR[1])
                err, mag = (err[0] + eR[0], err[1] + eR[1]), (mag[0] + mR[0], mag[1] + mR[1])
            whole = _term(g)
            # the error relative to the size of the summands (module docstring)
            rel = _rel(err, mag) + 2 * logit_err if math.isfinite(float(whole.log_grad_norm[0])) else math.inf
        At, C = self.white(params)
        return TrainingFirstOrder(whole.unit_grad, whole.log_grad_norm, whole.block_unit_grad,
                                  whole.block_log_grad_norm, np.array([math.nan]), np.array([rel]), terms, (At, C),
                                  (op_norm(At), op_norm(C)))

    # metrics
    def observe(self, params: tuple[np.ndarray, np.ndarray], fo: TrainingFirstOrder) -> dict[str, np.ndarray]:
        """The float64 metrics of :data:`METRICS` (nan for a non-finite iterate)."""
        if not (np.all(np.isfinite(params[0])) and np.all(np.isfinite(params[1]))):
            return {k: np.array([math.nan]) for k in METRICS}
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging (flagged) run may overflow here
            return self._metrics(params)

    def _metrics(self, params: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
        s, o = self.setup, self.setup.opts
        data = s.data
        At, C = self.white(params)
        A, B = self.raw(params)
        E = (A @ data.Sigma @ B.T - data.M) @ s.pop.W
        T_pop = data.M @ s.pop.W
        D = At.T @ At - C.T @ C
        vals = {
            "train_loss": ar.train_loss(A, B, data.X, data.Y, o["exclude_self"]),
            "test_error": ar.test_error(A, B, data),
            "pop_loss": 0.5 * float(np.sum(E * E)),
            "factor_error": float(np.linalg.norm(E)) / max(float(np.linalg.norm(T_pop)), 1e-300),
            "balance": float(np.linalg.norm(D)),
            "norm_A": float(np.linalg.norm(A)),
            "norm_B": float(np.linalg.norm(B)),
            "logit_scale": op_norm(C),
        }
        return {k: np.array([v]) for k, v in vals.items()}


# ---------------------------------------------------------------------------------------------- the methods
def _damped_inverse(Z: np.ndarray, z_op: float, o: dict) -> np.ndarray:
    """(Z^T Z + delta I)^{-1}, delta = damping ||Z||_op^2 + damping_abs (``z_op`` = ||Z||_op)."""
    G = Z.T @ Z
    return np.linalg.inv(G + (o["damping"] * z_op**2 + o["damping_abs"]) * np.eye(G.shape[0]))


def _preconditioner(o: dict) -> Callable[[TrainingFirstOrder, Any], Any]:
    """(dAt, dC) -> (dAt P_C, dC P_A) at the iterate (module docstring)."""

    def P(fo: TrainingFirstOrder, direction: Any) -> Any:
        (At, C), (a_op, c_op) = fo.white, fo.white_op
        return direction[0] @ _damped_inverse(C, c_op, o), direction[1] @ _damped_inverse(At, a_op, o)

    return P


def _scalar_preconditioner(fo: TrainingFirstOrder, direction: Any) -> Any:
    """(dAt, dC) -> (dAt, dC) / (||At||_op^2 + ||C||_op^2): keeps the regularizer's step stable at any scale."""
    sc = fo.white_op[0] ** 2 + fo.white_op[1] ** 2
    return direction[0] / sc, direction[1] / sc


def renorm_factor(At: np.ndarray, C: np.ndarray, o: dict) -> float:
    """c of the renormalization (At, C) -> (c At, C / c): ``cap`` max(1, ||C||_op / beta), ``balance``
    sqrt(||C||_F / ||At||_F) (1 when either is zero)."""
    if o["renorm_rule"] == "cap":
        return max(1.0, op_norm(C) / o["beta"])
    na, nc = float(np.linalg.norm(At)), float(np.linalg.norm(C))
    return math.sqrt(nc / na) if na > 0 and nc > 0 else 1.0


def _renormalize(problem: TrainingProblem) -> Callable[[Any], Any]:
    o = problem.setup.opts

    def fn(params: Any) -> Any:
        if not (np.all(np.isfinite(params[0])) and np.all(np.isfinite(params[1]))):
            return params
        c = renorm_factor(*problem.white(params), o)
        return c * params[0], params[1] / c

    return fn


def gd_step(setup: Setup, start: tuple[np.ndarray, np.ndarray]) -> float:
    """eta / L_est, L_est = ||S|| max(1, ||S||)(||At_0||_op^2 + ||C_0||_op^2 + 2||T||_op), fixed at the start."""
    S = setup.wh.W @ setup.wh.W
    s_op = op_norm(S)
    L_est = s_op * max(1.0, s_op) * (op_norm(start[0]) ** 2 + op_norm(start[1]) ** 2 + 2 * op_norm(setup.T))
    return float(setup.opts["eta"]) / L_est


def training_method(problem: TrainingProblem) -> Chain:
    """The method of the options (module docstring), a chain of :mod:`verify.methods` transforms."""
    o = problem.setup.opts
    geometry = projected(_renormalize(problem)) if o["renorm"] else None
    config = {k: o[k] for k in ("eta", "regularizer", "lam", "renorm", "renorm_rule", "beta", "damping",
                                "damping_abs", "reg_preconditioned")}
    if o["method"] == "gd":  # the table's GD, with the renormalization as its geometry when it is on
        base = make_method("gd", "joint", eta=gd_step(problem.setup, problem.start))
        assert isinstance(base, Chain)
        return replace(base, geometry=geometry or base.geometry,
                       config={**base.config, **{k: o[k] for k in ("regularizer", "lam", "renorm", "renorm_rule",
                                                                  "beta")}})
    P = precondition(_preconditioner(o))
    if not o["regularizer"]:
        source: tuple = (gradient(term="loss"), P)
    elif o["reg_preconditioned"]:
        source = (gradient(), P)
    else:
        source = (sum_of((gradient(term="loss"), P), (gradient(term="reg"), precondition(_scalar_preconditioner))),)
    kw: dict[str, Any] = {"name": "precond", "config": config}
    if geometry is not None:
        kw["geometry"] = geometry
    return chain(*source, scale(float(o["eta"])), **kw)


def make_problem(inst: ar.RegressionInstance, opts: dict) -> TrainingProblem:
    setup = make_setup(inst, opts)
    return TrainingProblem(setup, initial_point(inst, setup), "raw" if opts["method"] == "gd" else "white")


def checkpoints(opts: dict) -> list[int]:
    """The options' checkpoints, or t = 0 and :data:`CHECKPOINTS_PER_DECADE` log-spaced ones up to ``steps``."""
    if opts["checkpoints"] is not None:
        return sorted({int(c) for c in opts["checkpoints"] if 0 <= int(c) <= opts["steps"]})
    return [0, *log_checkpoints(opts["steps"], CHECKPOINTS_PER_DECADE)]


def train(instance: ar.RegressionInstance, options: dict | None = None) -> Trajectory:
    """Run the method of ``options`` (:data:`DEFAULT_OPTIONS`) on ``instance`` with :func:`verify.trajectory.run`:
    the metrics of :data:`METRICS` at the checkpoints, with the runner's precision flags."""
    o = resolve_options(options)
    problem = make_problem(instance, o)
    return run(problem, training_method(problem), o["steps"], checkpoints(o))
