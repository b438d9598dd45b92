"""Least-squares linear regression as an attention-verify model: instances, the GD problem, the gradient.

Data: a design X in R^{n x d}, targets y in R^n, an initial point w0 in R^d and a step size eta > 0.

    L(w)  = (1/2n) ||X w - y||^2,          grad L(w) = (1/n) X^T (X w - y),
    L*    = min_w L(w),                    S = lambda_max(X^T X / n)   (the smoothness constant).

Every minimizer w* satisfies X^T (X w* - y) = 0, so for every w

    L(w) - L* = (1/2n) ||X (w - w*)||^2     and     grad L(w) = (1/n) X^T X (w - w*).

Both right-hand sides are what the problem computes: the loss gap and the gradient then carry no cancellation
near the optimum (L(w) and L* are both close to L* there; their difference would lose every digit). w* is solved
in the working precision (float64 least squares, or an mpmath LU solve of the normal equations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import mpmath
import numpy as np

from verify.backends import Backend
from verify.errors import VerifyInputError
from verify.instance import as_array
from verify.model import Model
from verify.theory import GradientSpec

SCHEMA = "linear-regression/1"


@dataclass(frozen=True, eq=False)
class LinRegInstance:
    """One least-squares problem and the GD run's start and step (equal when every array and the step are)."""

    X: np.ndarray  # (n, d)
    y: np.ndarray  # (n,)
    w0: np.ndarray  # (d,)
    eta: float

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LinRegInstance):
            return NotImplemented
        return self.eta == other.eta and all(np.array_equal(getattr(self, k), getattr(other, k))
                                             for k in ("X", "y", "w0"))

    def __hash__(self) -> int:
        return hash((self.X.tobytes(), self.y.tobytes(), self.w0.tobytes(), self.eta))

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "X": self.X.tolist(), "y": self.y.tolist(), "w0": self.w0.tolist(),
                "eta": float(self.eta)}


def instance_from_json(obj: dict) -> LinRegInstance:
    """The instance of a JSON object; one-line :class:`VerifyInputError` on a bad shape, NaN or step."""
    if obj.get("schema") != SCHEMA:
        raise VerifyInputError(f"expected schema {SCHEMA!r}, got {obj.get('schema')!r}")
    X = as_array(obj, "X", (None, None))
    assert X is not None
    n, d = X.shape
    y = as_array(obj, "y", (n,))
    w0 = as_array(obj, "w0", (d,))
    assert y is not None and w0 is not None
    eta = obj.get("eta")
    if not isinstance(eta, (int, float)) or isinstance(eta, bool) or not (math.isfinite(eta) and eta > 0):
        raise VerifyInputError(f"eta must be a positive finite number, got {eta!r}")
    return LinRegInstance(X, y, w0, float(eta))


def smoothness(inst: LinRegInstance) -> float:
    """S = lambda_max(X^T X / n) = sigma_max(X)^2 / n."""
    return float(np.linalg.norm(inst.X, 2) ** 2 / inst.n)


def minimizer(inst: LinRegInstance, bk: Backend) -> Any:
    """A minimizer w* in the backend's precision (the minimum-norm one in float64)."""
    if bk.name == "numpy":
        return np.linalg.lstsq(inst.X, inst.y, rcond=None)[0]
    with bk.context():
        X = mpmath.matrix(inst.X.tolist())
        y = mpmath.matrix(inst.y.tolist())
        w = mpmath.lu_solve(X.T * X, X.T * y)
    return bk.asarray([w[i] for i in range(inst.d)])


class FirstOrder(NamedTuple):
    """What a method reads (verify.methods): the unit gradient, log ||grad L||, log(L - L*), the direction's
    estimated relative error."""

    unit_grad: Any
    log_grad_norm: Any
    log_loss_gap: Any
    rel_error: Any


class GDProblem:
    """The problem protocol of :func:`verify.trajectory.run` for a batch of one instance (leading axis 1)."""

    lazy_metrics = False
    iterate_record = "w"

    def __init__(self, bk: Backend, inst: LinRegInstance) -> None:
        self.bk = bk
        self.inst = inst
        self.X = bk.asarray(inst.X)
        self.H = bk.asarray(inst.X.T @ inst.X / inst.n) if bk.name == "numpy" else self._gram_mp()
        self.w_star = minimizer(inst, bk)
        s = np.linalg.svd(inst.X, compute_uv=False)
        self.sigma_max = float(s[0])
        self.cond = float(s[0] / s[-1]) if s[-1] > 0 else math.inf
        self.w_star_norm = float(np.linalg.norm(np.asarray(bk.to_float(self.w_star))))
        # GD with eta <= 1/S contracts w - w* by q = max_k |1 - eta lambda_k| < 1 per step, so rounding errors do
        # not pile up: after t steps the iterate is off by at most e_step * min(t, 1/(1 - q)), with e_step the
        # error of one step, about (d + 2) u (1 + cond) max(||w||, ||w*||) (the error of w* and of one product)
        lam = s**2 / inst.n
        q = float(np.max(np.abs(1 - inst.eta * lam)))
        self.memory = 1 / (1 - q) if q < 1 else math.inf
        self.step_rel_error = (inst.d + 2) * bk.eps * (1 + self.cond)

    def _gram_mp(self) -> Any:
        X = mpmath.matrix(self.inst.X.tolist())
        H = (X.T * X) / self.inst.n
        return self.bk.asarray([[H[i, j] for j in range(self.inst.d)] for i in range(self.inst.d)])

    def init(self) -> Any:
        return self.bk.asarray(self.inst.w0[None, :])

    def first_order(self, w: Any) -> FirstOrder:
        bk, xp = self.bk, self.bk.xp
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run (eta S > 2) overflows: flagged
            delta = w - self.w_star[None, :]
            g = xp.einsum("ij,bj->bi", self.H, delta)
            gn2 = xp.sum(g * g, axis=1)
            gap2 = xp.sum(xp.einsum("ij,bj->bi", self.X, delta) ** 2, axis=1)  # ||X (w - w*)||^2
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_gn = bk.log(gn2) / 2
            log_gap = bk.log(gap2) - math.log(2 * self.inst.n)
            unit = g / bk.exp(log_gn)[:, None] if bool(np.all(np.asarray(bk.to_float(gn2)) > 0)) else g
        rel = np.full(len(np.asarray(bk.to_float(gn2))), self.step_rel_error)
        return FirstOrder(unit, log_gn, log_gap, rel)

    def iterate_error(self, t: np.ndarray, w_norm: np.ndarray) -> np.ndarray:
        """Absolute error bound of w_t at checkpoints ``t`` (see ``__init__``)."""
        return self.step_rel_error * np.maximum(w_norm, self.w_star_norm) * np.minimum(np.maximum(t, 1), self.memory)

    def observe(self, w: Any, fo: FirstOrder) -> dict[str, np.ndarray]:
        return {"w": np.asarray(self.bk.to_float(w)), "log_gap": np.asarray(self.bk.to_float(fo.log_loss_gap))}


def _point(inst: LinRegInstance, rng: Any) -> np.ndarray:
    return np.asarray(rng.standard_normal(inst.d))


def _loss(inst: LinRegInstance, w: Any) -> float:
    r = inst.X @ np.asarray(w, dtype=float) - inst.y
    return float(r @ r / (2 * inst.n))


def _grad(inst: LinRegInstance, w: Any) -> np.ndarray:
    return np.asarray(inst.X.T @ (inst.X @ np.asarray(w, dtype=float) - inst.y) / inst.n)


MODEL = Model(
    key="linear-regression",
    title="least-squares linear regression L(w) = (1/2n) ||X w - y||^2",
    schema=SCHEMA,
    load_instance=instance_from_json,
    representations=("dense",),
    gradient=GradientSpec(_point, _loss, _grad, name="L(w)"),
)
