"""The softmax self-attention regressor of GSB26 (docs/catalogue.md, Part B). The whole setting is [recon].

Data: n training tokens x_i in R^d (rows of X), targets y_i = M x_i + noise (rows of Y), M in R^{d_y x d}.

    f(x; X)   = sum_j softmax_j(x_j^T B^T x) A x_j              (A: d_y x d value, B: d x d merged key-query)
    L_n(A, B) = (1/2n) sum_i ||f(x_i; X) - y_i||^2               (optionally without the self-term j = i)
    L_inf     = (1/2) ||(A Sigma B^T - M) Sigma^{1/2}||_F^2      (the n -> inf limit, noise excluded)

Why L_inf [derived]: for x ~ N(0, Sigma), E[e^{a^T x} x] / E[e^{a^T x}] = Sigma a (Gaussian tilting), so with
a = B^T x the softmax average of the keys tends to Sigma B^T x and f(x; X) -> A Sigma B^T x.

Gradient of L_n [derived], with logits Z = Q B X^T (queries Q = X), P = row-softmax(Z), V = X A^T, F = P V and
R = (F - Y) / n:

    dL/dA = R^T P X,        dL/dZ_ij = P_ij <R_i, v_j - F_i>,        dL/dB = Q^T (dL/dZ) X.

Whitened coordinates with a symmetric square root W of a covariance (the sample covariance S by default):
At = A W, C = W B W, T = M W, so that A Sigma B^T W = At C^T when W^2 = Sigma,
and L_inf = (1/2)||At C^T - T||^2.

Softmax is evaluated stably (logits minus their row maximum, normalizer via log-sum-exp), so huge logits give
one-hot weights rather than NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify.errors import VerifyInputError
from verify.instance import as_array

SCHEMA = "attention-regression/1"
DISTRIBUTIONS = ("gaussian", "rademacher", "uniform", "student-t", "mixture")
INIT_KINDS = ("spectral", "random")
MIXTURE_MEAN = 0.9
"""The 'mixture' tokens are, per coordinate, 0.5 N(-0.9, 0.19) + 0.5 N(0.9, 0.19): unit variance, bimodal."""


# ---------------------------------------------------------------------------------------------- instance
@dataclass(frozen=True, eq=False)
class RegressionInstance:
    """A regression data set, given either by generator parameters or by explicit arrays.

    Generator form (``X is None``): ``d, d_y, n, sigma_spectrum, m_singular_values, noise,
    distribution, seed``;
    Sigma = Q diag(spectrum) Q^T and M = U diag(svals) V^T with Haar rotations drawn from ``seed`` [recon].
    Explicit form: ``X`` (n x d), ``Y`` (n x d_y), optionally ``Sigma`` (d x d) and ``M`` (d_y x d).
    ``init_kind`` / ``init_scale`` describe the initialization the assumptions talk about; ``t_df`` is the
    Student-t degrees of freedom (> 2 so the variance exists); ``n_test`` fresh queries give the test error.
    """

    d: int
    d_y: int
    n: int
    sigma_spectrum: tuple[float, ...] | None = None
    m_singular_values: tuple[float, ...] | None = None
    noise: float = 0.0
    distribution: str = "gaussian"
    seed: int = 0
    X: np.ndarray | None = None
    Y: np.ndarray | None = None
    Sigma: np.ndarray | None = None
    M: np.ndarray | None = None
    init_kind: str = "spectral"
    init_scale: float = 1.0
    t_df: float = 5.0
    n_test: int = 256
    meta: dict = field(default_factory=dict)

    @property
    def explicit(self) -> bool:
        return self.X is not None

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "d": self.d,
            "d_y": self.d_y,
            "n": self.n,
            "noise": self.noise,
            "distribution": self.distribution,
            "seed": self.seed,
            "init_kind": self.init_kind,
            "init_scale": self.init_scale,
            "t_df": self.t_df,
            "n_test": self.n_test,
            "meta": self.meta,
        }
        if self.sigma_spectrum is not None:
            out["sigma_spectrum"] = list(self.sigma_spectrum)
        if self.m_singular_values is not None:
            out["m_singular_values"] = list(self.m_singular_values)
        for k in ("X", "Y", "Sigma", "M"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v.tolist()
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RegressionInstance):
            return NotImplemented
        a, b = self.to_json(), other.to_json()
        return a == b

    def __hash__(self) -> int:
        return hash((self.d, self.d_y, self.n, self.seed))


def _int(obj: dict, key: str, lo: int, default: int | None = None) -> int:
    v = obj.get(key, default)
    if v is None:
        raise VerifyInputError(f"missing required field {key!r}")
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise VerifyInputError(f"field {key!r} must be an integer >= {lo}; got {v!r}")
    return v


def _float(obj: dict, key: str, default: float, lo: float = -math.inf, strict: bool = False) -> float:
    v = obj.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise VerifyInputError(f"field {key!r} must be a finite number; got {v!r}")
    if v < lo or (strict and v == lo):
        raise VerifyInputError(f"field {key!r} must be {'>' if strict else '>='} {lo}; got {v!r}")
    return float(v)


def _positive_list(obj: dict, key: str, length: int) -> tuple[float, ...]:
    v = obj.get(key)
    if not isinstance(v, list) or len(v) != length:
        raise VerifyInputError(f"field {key!r} must be a list of {length} numbers")
    if not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0 for x in v
    ):
        raise VerifyInputError(f"field {key!r} must hold finite positive numbers; got {v!r}")
    return tuple(float(x) for x in v)


def instance_from_json(obj: dict) -> RegressionInstance:
    """Validate and build an instance; every problem is a one-line VerifyInputError."""
    if not isinstance(obj, dict):
        raise VerifyInputError("an attention-regression instance must be a JSON object")
    dist = obj.get("distribution", "gaussian")
    if dist not in DISTRIBUTIONS:
        raise VerifyInputError(f"field 'distribution' must be one of {DISTRIBUTIONS}; got {dist!r}")
    init_kind = obj.get("init_kind", "spectral")
    if init_kind not in INIT_KINDS:
        raise VerifyInputError(f"field 'init_kind' must be one of {INIT_KINDS}; got {init_kind!r}")
    common = dict(
        noise=_float(obj, "noise", 0.0, 0.0),
        distribution=dist,
        seed=_int(obj, "seed", 0, 0),
        init_kind=init_kind,
        init_scale=_float(obj, "init_scale", 1.0, 0.0, strict=True),
        t_df=_float(obj, "t_df", 5.0, 2.0, strict=True),
        n_test=_int(obj, "n_test", 1, 256),
    )
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise VerifyInputError("field 'meta' must be a JSON object")
    if "X" in obj and obj["X"] is not None:
        X = as_array(obj, "X", (None, None))
        assert X is not None
        n, d = X.shape
        if n < 2 or d < 1:
            raise VerifyInputError(f"field 'X' must be n x d with n >= 2, d >= 1; got {n} x {d}")
        Y = as_array(obj, "Y", (n, None))
        assert Y is not None
        d_y = Y.shape[1]
        if d_y < 1:
            raise VerifyInputError("field 'Y' must have at least one column")
        Sigma = as_array(obj, "Sigma", (d, d), required=False)
        if Sigma is not None:
            if not np.allclose(Sigma, Sigma.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(Sigma).max()))):
                raise VerifyInputError("field 'Sigma' must be symmetric")
            if float(np.linalg.eigvalsh(Sigma).min()) <= 0:
                raise VerifyInputError("field 'Sigma' must be positive definite")
        M = as_array(obj, "M", (d_y, d), required=False)
        for k in ("d", "d_y", "n"):
            if k in obj and obj[k] != {"d": d, "d_y": d_y, "n": n}[k]:
                raise VerifyInputError(f"field {k!r}={obj[k]!r} disagrees with the arrays' shape")
        return RegressionInstance(d=d, d_y=d_y, n=n, X=X, Y=Y, Sigma=Sigma, M=M, meta=meta, **common)
    d, d_y, n = _int(obj, "d", 1), _int(obj, "d_y", 1), _int(obj, "n", 2)
    spec = _positive_list(obj, "sigma_spectrum", d)
    sv = _positive_list(obj, "m_singular_values", min(d, d_y))
    return RegressionInstance(
        d=d, d_y=d_y, n=n, sigma_spectrum=spec, m_singular_values=sv, meta=meta, **common
    )


def make_instance(**fields: Any) -> RegressionInstance:
    """Validated constructor from keyword fields (arrays may be numpy arrays)."""
    obj = {
        k: (np.asarray(v, dtype=float).tolist() if isinstance(v, np.ndarray) else v)
        for k, v in fields.items()
    }
    for k in ("sigma_spectrum", "m_singular_values"):
        if k in obj and obj[k] is not None:
            obj[k] = [float(x) for x in obj[k]]
    return instance_from_json(obj)



# ---------------------------------------------------------------------------------------------- sampling
def _haar(rng: np.random.Generator, k: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    return q * np.sign(np.diag(r))[None, :]


def sym_sqrt(S: np.ndarray, power: float = 0.5) -> np.ndarray:
    """S^power for a symmetric positive definite S (eigen-decomposition)."""
    w, V = np.linalg.eigh(S)
    if float(w.min()) <= 0:
        raise VerifyInputError("covariance is singular or indefinite; whitening needs it positive definite")
    return (V * w**power) @ V.T


def standard_tokens(
    rng: np.random.Generator, n: int, d: int, distribution: str, t_df: float = 5.0
) -> np.ndarray:
    """n x d i.i.d. coordinates with mean 0 and variance 1 from the named distribution."""
    if distribution == "gaussian":
        return rng.standard_normal((n, d))
    if distribution == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n, d))
    if distribution == "uniform":
        return rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), size=(n, d))
    if distribution == "student-t":
        return rng.standard_t(t_df, size=(n, d)) / math.sqrt(t_df / (t_df - 2.0))
    if distribution == "mixture":
        s = math.sqrt(1.0 - MIXTURE_MEAN**2)
        return rng.choice(np.array([-MIXTURE_MEAN, MIXTURE_MEAN]), size=(n, d)) + s * rng.standard_normal(
            (n, d)
        )
    raise VerifyInputError(f"unknown token distribution {distribution!r}; expected one of {DISTRIBUTIONS}")


def sample_tokens(
    rng: np.random.Generator, n: int, Sigma: np.ndarray, distribution: str, t_df: float = 5.0
) -> np.ndarray:
    """Tokens with covariance Sigma: standardized coordinates times Sigma^{1/2} (rows)."""
    return standard_tokens(rng, n, Sigma.shape[0], distribution, t_df) @ sym_sqrt(Sigma)


@dataclass(frozen=True)
class Data:
    """An instance made concrete: arrays, the covariance used as 'population', and whitening matrices."""

    X: np.ndarray  # (n, d) keys and training queries
    Y: np.ndarray  # (n, d_y)
    Q_test: np.ndarray  # (n_test, d) fresh queries
    Sigma: np.ndarray  # the true covariance, or S when unknown
    M: np.ndarray  # the true M, or the least-squares estimate when unknown
    S: np.ndarray  # sample covariance (1/n) X^T X (tokens have mean zero)
    sigma_known: bool
    m_known: bool


def realize(inst: RegressionInstance) -> Data:
    """Draw (or read) the arrays of an instance; deterministic in ``inst.seed``."""
    rng = np.random.default_rng(inst.seed)
    if inst.explicit:
        assert inst.X is not None and inst.Y is not None
        X, Y = inst.X, inst.Y
        S = X.T @ X / inst.n
        Sigma = inst.Sigma if inst.Sigma is not None else S
        M = inst.M if inst.M is not None else np.linalg.lstsq(X, Y, rcond=None)[0].T
        Q = sample_tokens(rng, inst.n_test, Sigma, "gaussian")
        return Data(X, Y, Q, Sigma, M, S, inst.Sigma is not None, inst.M is not None)
    assert inst.sigma_spectrum is not None and inst.m_singular_values is not None
    Qs = _haar(rng, inst.d)
    Sigma = (Qs * np.asarray(inst.sigma_spectrum)) @ Qs.T
    Sigma = (Sigma + Sigma.T) / 2
    r = min(inst.d, inst.d_y)
    U, V = _haar(rng, inst.d_y)[:, :r], _haar(rng, inst.d)[:, :r]
    M = (U * np.asarray(inst.m_singular_values)) @ V.T
    X = sample_tokens(rng, inst.n, Sigma, inst.distribution, inst.t_df)
    Y = X @ M.T + inst.noise * rng.standard_normal((inst.n, inst.d_y))
    Q = sample_tokens(rng, inst.n_test, Sigma, inst.distribution, inst.t_df)
    return Data(X, Y, Q, Sigma, M, X.T @ X / inst.n, True, True)


# ---------------------------------------------------------------------------------------------- layer
def softmax_weights(Q: np.ndarray, B: np.ndarray, X: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    """P_qj = softmax_j(x_j^T B^T q), stable: logits minus the row maximum.


    ``exclude_self`` (only when Q is X) drops j = q.
    """
    Z = Q @ B @ X.T
    if exclude_self:
        if Q.shape[0] != X.shape[0]:
            raise VerifyInputError("exclude_self needs the queries to be the training tokens")
        np.fill_diagonal(Z, -np.inf)
    Z = Z - Z.max(axis=1, keepdims=True)
    W = np.exp(Z)
    return W / W.sum(axis=1, keepdims=True)


def attention(
    Q: np.ndarray, A: np.ndarray, B: np.ndarray, X: np.ndarray, exclude_self: bool = False
) -> np.ndarray:
    """f(q; X) for every row q of Q, shape (m, d_y)."""
    return softmax_weights(Q, B, X, exclude_self) @ (X @ A.T)


def train_loss(
    A: np.ndarray, B: np.ndarray, X: np.ndarray, Y: np.ndarray, exclude_self: bool = False
) -> float:
    """L_n(A, B) = (1/2n) sum_i ||f(x_i; X) - y_i||^2."""
    R = attention(X, A, B, X, exclude_self) - Y
    return float(0.5 * np.mean(np.sum(R * R, axis=1)))


def train_loss_grad(
    A: np.ndarray, B: np.ndarray, X: np.ndarray, Y: np.ndarray, exclude_self: bool = False
) -> tuple[float, np.ndarray, np.ndarray]:
    """(L_n, dL_n/dA, dL_n/dB), exact (module docstring)."""
    n = X.shape[0]
    P = softmax_weights(X, B, X, exclude_self)
    V = X @ A.T
    F = P @ V
    R = (F - Y) / n
    loss = 0.5 * n * float(np.sum(R * R))
    gA = R.T @ P @ X
    G = R @ V.T  # <R_i, v_j>
    dZ = P * (G - np.sum(R * F, axis=1, keepdims=True))
    gB = X.T @ dZ @ X
    return loss, gA, gB


def test_error(A: np.ndarray, B: np.ndarray, data: Data) -> float:
    """(1/2m) sum_q ||f(q; X) - M q||^2 over fresh queries q and the training keys (noise-free target)."""
    R = attention(data.Q_test, A, B, data.X) - data.Q_test @ data.M.T
    return float(0.5 * np.mean(np.sum(R * R, axis=1)))


def population_loss(A: np.ndarray, B: np.ndarray, Sigma: np.ndarray, M: np.ndarray) -> float:
    """L_inf(A, B) = (1/2) ||(A Sigma B^T - M) Sigma^{1/2}||_F^2 (closed form; noise excluded)."""
    E = (A @ Sigma @ B.T - M) @ sym_sqrt(Sigma)
    return float(0.5 * np.sum(E * E))


def population_map(A: np.ndarray, B: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """The n -> inf limit of the layer as a matrix: f(x) -> A Sigma B^T x."""
    return A @ Sigma @ B.T


# ---------------------------------------------------------------------------------------------- whitening
@dataclass(frozen=True)
class Whitening:
    """At = A W, C = W B W, T = M W with W = Cov^{1/2} (W_inv = Cov^{-1/2})."""

    W: np.ndarray
    W_inv: np.ndarray

    @staticmethod
    def of(cov: np.ndarray) -> Whitening:
        return Whitening(sym_sqrt(cov), sym_sqrt(cov, -0.5))

    def to_white(self, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return A @ self.W, self.W @ B @ self.W

    def from_white(self, At: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return At @ self.W_inv, self.W_inv @ C @ self.W_inv

    def grad_to_white(self, gA: np.ndarray, gB: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chain rule: dL/dAt = dL/dA W^{-1}, dL/dC = W^{-1} dL/dB W^{-1}."""
        return gA @ self.W_inv, self.W_inv @ gB @ self.W_inv

    def grad_from_white(self, gAt: np.ndarray, gC: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dL/dA = dL/dAt W, dL/dB = W dL/dC W."""
        return gAt @ self.W, self.W @ gC @ self.W


def whitened_target(data: Data, wh: Whitening) -> np.ndarray:
    """T_hat = C_yx S^{-1/2} with C_yx = (1/n) sum_i y_i x_i^T (equals M S^{1/2} without noise)."""
    Cyx = data.Y.T @ data.X / data.X.shape[0]
    return Cyx @ wh.W_inv


def spectral_init(data: Data, wh: Whitening) -> tuple[np.ndarray, np.ndarray]:
    """SVD T_hat = U diag(s) V^T; At_0 = U diag(s)^{1/2}, C_0 = V diag(s)^{1/2} (zero-padded to d columns)."""
    T = whitened_target(data, wh)
    d_y, d = T.shape
    U, s, Vt = np.linalg.svd(T, full_matrices=False)
    r = s.size
    At = np.zeros((d_y, d))
    C = np.zeros((d, d))
    At[:, :r] = U * np.sqrt(s)
    C[:, :r] = Vt.T * np.sqrt(s)
    return At, C


def random_init(data: Data, d_y: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A_0, B_0 with i.i.d. N(0, scale^2 / d) entries; a large ``scale`` saturates the softmax."""
    rng = np.random.default_rng(seed)
    d = data.X.shape[1]
    return scale * rng.standard_normal((d_y, d)) / math.sqrt(d), scale * rng.standard_normal(
        (d, d)
    ) / math.sqrt(d)


def kappa(S: np.ndarray) -> float:
    """Condition number of a matrix (ratio of extreme singular values; inf when singular)."""
    s = np.linalg.svd(S, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf
