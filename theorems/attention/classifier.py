"""The one-layer attention classifier shared by VDT24, JTA24 and PRIOR (docs/catalogue.md, Part A).

Data: n sequences X_i in R^{T x d} (rows x_{i,t}), labels y_i in {-1,+1}, queries z_i (default: the first
token, self-attention), a decoder u, an initial key-query matrix W0.

    a_{i,t} = x_{i,t}^T W z_i,   s_i = softmax(a_i),   f_i = u^T X_i^T s_i,
    l(m) = log(1 + e^{-m}),      L(W) = (1/n) sum_i l(y_i f_i),
    g_{i,t} = y_i u^T x_{i,t},   opt_i = argmax_t g_{i,t},   L* = (1/n) sum_i l(g_{i,opt_i}).

Gradient in the stable form [derived]: with r_i the top-logit token and gbar_i = y_i f_i,

    grad_W L = (1/n) sum_i l'(gbar_i) sum_{t != r_i} s_{i,t} (g_{i,t} - gbar_i) (x_{i,t} - x_{i,r_i}) z_i^T,

which only touches the small weights s_{i,t} = e^{a_t - a_r} / (1 + sum_{tau != r} e^{a_tau - a_r}). All such
weights are carried as e^{m_i} * shat with m_i = max_{t != r} (a_t - a_r), and the whole gradient as e^M * Ghat
with M = max_i m_i, so nothing underflows however saturated the softmax is (docs/design.md, docs/engine.md).

The gradient is expressed as coefficients G_{i,t} of the rank-one matrices x_{i,t} z_i^T. Two representations of
W use them: ``dense`` (W itself, d x d) and ``gram`` (W = W0 + sum c_{i,t} x_{i,t} z_i^T, exact for GD-type
methods, a step costs O((nT)^2) independent of d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import mpmath
import numpy as np

from theorems.attention import step_kernel
from theorems.attention.carried_logits import (
    CarriedLogits,
    Carry,
    block_data,
    compiled_logits,
    direct_bound,
    empty_carry,
    took_carry,
    worthwhile,
)
from verify.backends import Array, Backend, JaxNamespace, is_float64_array, is_traced, isfinite, namespace
from verify.errors import VerifyInputError
from verify.instance import as_array

SCHEMA = "attention-classification/1"


# ---------------------------------------------------------------------------------------------- instance
@dataclass(frozen=True, eq=False)
class AttentionInstance:
    """One attention-classification data set plus initialization (schema ``attention-classification/1``).

    ``z`` defaults to each sequence's first token and ``W0`` to zero; both are stored explicitly once set, so
    a round trip through JSON is exact.
    """

    X: np.ndarray  # (n, T, d)
    y: np.ndarray  # (n,)
    u: np.ndarray  # (d,)
    z: np.ndarray  # (n, d)
    W0: np.ndarray  # (d, d)
    meta: dict = field(default_factory=dict)  # free-form provenance of the data (generator, seed, ...)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def T(self) -> int:
        return int(self.X.shape[1])

    @property
    def d(self) -> int:
        return int(self.X.shape[2])

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "X": self.X.tolist(),
            "y": self.y.tolist(),
            "u": self.u.tolist(),
            "z": self.z.tolist(),
            "W0": self.W0.tolist(),
            "meta": self.meta,
        }

    def with_W0(self, W0: np.ndarray) -> AttentionInstance:
        return make_instance(self.X, self.y, self.u, self.z, W0, self.meta)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AttentionInstance):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, k), getattr(other, k)) for k in ("X", "y", "u", "z", "W0")
        ) and self.meta == other.meta


def make_instance(
    X: Any, y: Any, u: Any, z: Any = None, W0: Any = None, meta: dict | None = None
) -> AttentionInstance:
    """Validated constructor; raises VerifyInputError with a one-line message on bad shapes or values."""
    obj = {"X": np.asarray(X, dtype=float).tolist(), "y": np.asarray(y, dtype=float).tolist(),
           "u": np.asarray(u, dtype=float).tolist()}
    if z is not None:
        obj["z"] = np.asarray(z, dtype=float).tolist()
    if W0 is not None:
        obj["W0"] = np.asarray(W0, dtype=float).tolist()
    obj["meta"] = meta or {}
    return instance_from_json(obj)


def instance_from_json(obj: dict) -> AttentionInstance:
    X = as_array(obj, "X", (None, None, None))
    assert X is not None
    n, T, d = X.shape
    if n < 1 or T < 2 or d < 1:
        raise VerifyInputError(f"field 'X' must be n x T x d with n >= 1, T >= 2, d >= 1; got {n} x {T} x {d}")
    y = as_array(obj, "y", (n,))
    u = as_array(obj, "u", (d,))
    assert y is not None and u is not None
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise VerifyInputError("field 'y' must hold labels -1 or +1")
    z = as_array(obj, "z", (n, d), required=False)
    W0 = as_array(obj, "W0", (d, d), required=False)
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise VerifyInputError("field 'meta' must be a JSON object")
    return AttentionInstance(
        X=X, y=y, u=u, z=X[:, 0, :].copy() if z is None else z, W0=np.zeros((d, d)) if W0 is None else W0,
        meta=meta,
    )



# -------------------------------------------------------------------------------------- scores and L*
def token_scores(inst: AttentionInstance) -> np.ndarray:
    """g_{i,t} = y_i u^T x_{i,t}, shape (n, T)."""
    return inst.y[:, None] * np.einsum("ntd,d->nt", inst.X, inst.u)


def optimal_tokens(inst: AttentionInstance) -> np.ndarray:
    """opt_i = argmax_t g_{i,t}; uniqueness is an assumption checked elsewhere (``unique_optimal_token``)."""
    return np.argmax(token_scores(inst), axis=1)


def score_gaps(inst: AttentionInstance) -> np.ndarray:
    """g_{i,opt_i} - max_{t != opt_i} g_{i,t} per sequence (0 when the optimal token is not unique)."""
    g = np.sort(token_scores(inst), axis=1)
    return g[:, -1] - g[:, -2]


def optimal_loss(inst: AttentionInstance) -> float:
    """L* = (1/n) sum_i l(g_{i,opt_i}): the infimum of L(W) over W (never attained) [derived]."""
    g = token_scores(inst).max(axis=1)
    return float(np.mean(np.logaddexp(0.0, -g)))


def rank_one_norms(inst: AttentionInstance) -> np.ndarray:
    """||x_{i,t} z_i^T||_F = ||x_{i,t}|| ||z_i||, shape (n, T)."""
    return np.linalg.norm(inst.X, axis=2) * np.linalg.norm(inst.z, axis=1)[:, None]


# ---------------------------------------------------------------------------------------------- batch
@dataclass(frozen=True)
class Batch:
    """B instances of one shape, stacked for the vectorized kernels (float64 arrays)."""

    X: np.ndarray  # (B, n, T, d)
    Z: np.ndarray  # (B, n, d)
    y: np.ndarray  # (B, n)
    u: np.ndarray  # (B, d)
    g: np.ndarray  # (B, n, T) float64 scores (the backend recomputes them in its own precision)
    opt: np.ndarray  # (B, n) int
    W0: np.ndarray  # (B, d, d)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        B, n, T, d = self.X.shape
        return B, n, T, d


def stack(instances: list[AttentionInstance]) -> Batch:
    shapes = {(i.n, i.T, i.d) for i in instances}
    if len(shapes) != 1:
        raise VerifyInputError(f"a batch needs instances of one shape (n, T, d); got {sorted(shapes)}")
    return Batch(
        X=np.stack([i.X for i in instances]),
        Z=np.stack([i.z for i in instances]),
        y=np.stack([i.y for i in instances]),
        u=np.stack([i.u for i in instances]),
        g=np.stack([token_scores(i) for i in instances]),
        opt=np.stack([optimal_tokens(i) for i in instances]),
        W0=np.stack([i.W0 for i in instances]),
    )


# --------------------------------------------------------------------------------------- stable kernel
class KernelOut(NamedTuple):
    """Everything one evaluation of the loss and its gradient yields, batched over the leading axis B.

    The true gradient coefficients are e^{log_scale} * G_hat (shape (B, n, T)).
    """

    G_hat: Array
    log_scale: Array  # (B,)
    loss: Array  # (B,) L(W)
    log_loss_gap: Array  # (B,) log(L(W) - L*)
    log_max_nonopt: Array  # (B,) log max_i (1 - s_{i,opt_i})
    selected: np.ndarray  # (B, n) int: argmax-attention token of each sequence
    invalid: Any = None  # compiled (traced) runs only: (B,) where a loss-gap term was not positive (NaN there)


def _take(a: Array, idx: Array) -> Array:
    """a[..., idx] along the last axis (one entry per row): plain fancy indexing for numpy/mpmath arrays (the
    same values as take_along_axis, without its per-call index construction), take_along_dim for torch."""
    if isinstance(a, np.ndarray):
        flat = a.reshape(-1, a.shape[-1])
        return flat[np.arange(flat.shape[0]), np.asarray(idx).reshape(-1)].reshape(np.shape(idx))
    xp = namespace(a)
    if isinstance(xp, JaxNamespace):  # compiled: a masked sum (exactly a[idx]: the other terms are 0) fuses,
        # where XLA's CPU gather does not
        return xp.sum(xp.where(xp.arange(a.shape[-1]) == idx[..., None], a, 0), axis=-1)
    return xp.take_along_axis(a, idx[..., None], axis=-1)[..., 0]


LOSS_GAP_INVALID = "loss-gap term is non-positive: the optimal token is not unique or precision is lost"


def softmax_logistic_kernel(bk: Backend, a: Array, g: Array, opt: np.ndarray, metrics: bool = True,
                            pad: Any = None) -> KernelOut:
    """Loss, loss gap, non-optimal attention and the log-scaled gradient coefficients from logits ``a``.

    Inputs have shape (B, n, T); ``g`` are the token scores and ``opt`` (B, n) the optimal tokens. See the module
    docstring for the math; every quantity that can underflow is carried in log form. The same code runs on every
    backend: array functions come from ``bk.xp`` (numpy itself for float64 and mpmath, torch for torch).

    ``metrics=False`` computes only what a step needs (the gradient coefficients, their log scale and the
    selected tokens); ``loss``, ``log_loss_gap`` and ``log_max_nonopt`` are then None. The gradient is the same
    computation either way (bit for bit).

    ``pad`` (:class:`theorems.attention.padding.Padding`, float64 numpy only) holds each instance's own n and the
    weights that leave its padding sequences out; None: every instance has the batch's n sequences.
    """
    xp = bk.xp
    B, n, T = a.shape
    if not metrics and bk.name == "numpy" and step_kernel.applies(a, T):  # the same values, fewer array calls
        G_hat, M, r = step_kernel.step_coefficients(a, g, pad)
        return KernelOut(G_hat, M, None, None, None, r)
    r = xp.argmax(a, axis=-1)  # (B, n)
    nonref = xp.arange(T)[None, None, :] != r[..., None]
    # a_t - a_r <= 0. Compiled, a_r is the row's maximum itself: the same number as a[r], and measured much cheaper
    # than _take's masked sum. The other backends read a[r]; for balls it matters (a ball maximum need not be r's)
    delta = a - (xp.max(a, axis=-1) if isinstance(xp, JaxNamespace) else _take(a, r))[..., None]
    ninf = bk.asarray(-math.inf)
    m = bk.shift_of(xp.max(xp.where(nonref, delta, ninf), axis=-1))  # (B, n), m_i <= 0 (balls: the midpoint)
    w = xp.where(nonref, bk.exp(xp.where(nonref, delta - m[..., None], 0)), 0)  # e^{delta - m}, in [0, 1]
    sum_w = xp.sum(w, axis=-1)  # S = e^{m} sum_w, sum_w in [1, T - 1]
    e_m = bk.exp(m)
    s_hat = w * (1 / (1 + e_m * sum_w))[..., None]  # s_t = e^{m} s_hat_t for t != r; 1 + S cannot overflow
    g_r = _take(g, r)
    dg = g - g_r[..., None]  # g_t - g_r
    D_hat = xp.sum(s_hat * dg, axis=-1)  # gbar - g_r = e^{m} D_hat
    gbar = g_r + e_m * D_hat
    lprime = -bk.sigmoid(-gbar)  # l'(gbar) = -sigmoid(-gbar)
    M = bk.shift_of(xp.max(m, axis=-1))  # (B,)
    coef = lprime * bk.exp(m - M[:, None]) / (n if pad is None else pad.n[:, None])
    if pad is not None:  # the copies that pad an instance's sequences weigh nothing
        coef = coef * pad.weight
    G_nonref = coef[..., None] * s_hat * (dg - (e_m * D_hat)[..., None])
    onehot_r = ~nonref
    G_hat = xp.where(onehot_r, -xp.sum(G_nonref, axis=-1)[..., None], G_nonref)
    if not metrics:
        return KernelOut(G_hat, M, None, None, None, r)

    log_S = m + bk.log(sum_w)  # log sum_{t != r} e^{a_t - a_r}: S itself may underflow
    log_1pS = bk.softplus(log_S)
    sp = bk.softplus(-gbar)
    loss = xp.mean(sp, axis=-1) if pad is None else xp.sum(sp * pad.weight, axis=-1) / pad.n

    # Loss gap per sequence: Delta_i = g_opt - gbar_i >= 0, gap_i = l(g_opt - Delta) - l(g_opt)
    # = log1p(sigmoid(-g_opt) * expm1(Delta)). When r == opt, Delta = -e^{m} D_hat is a sum of positive terms.
    at_opt = r == opt
    g_opt = _take(g, opt)
    neg_D = xp.where(at_opt, -D_hat, 1)
    direct = xp.where(at_opt, 1, (g_opt - g_r) - e_m * D_hat)
    # Balls: a non-finite ball carries no information (the precision watch has flagged it), not an error; a ball
    # that is certainly <= 0 still is one.
    invalid = None
    if is_traced(direct):  # compiled (jax.jit): no branch on values; a non-positive term gives NaN, and
        # ``invalid`` makes FixedDecoderProblem.observe raise as below, eagerly
        bad = ~isfinite(direct) | (direct <= 0) | (neg_D <= 0)
        direct, neg_D = xp.where(bad, math.nan, direct), xp.where(bad, math.nan, neg_D)
        invalid = xp.any(bad, axis=-1)
    else:
        nonfinite = bk.name != "arb" and not bool(xp.all(isfinite(direct)))
        if nonfinite or bool(xp.any(direct <= 0)) or bool(xp.any(neg_D <= 0)):
            raise FloatingPointError(LOSS_GAP_INVALID)
    log_Delta = xp.where(at_opt, m + bk.log(neg_D), bk.log(direct))
    log_sig = -bk.softplus(g_opt)  # log sigmoid(-g_opt)
    log_gap_i = bk.log_log1p_exp(log_sig + bk.log_expm1_exp(log_Delta))
    # log n exactly for Arb balls (float64's log n would bias an enclosure by 1e-16); the others keep fl(log n)
    if pad is not None:
        log_gap_i, log_n = log_gap_i + pad.log_weight, pad.log_n
    else:
        log_n = bk.log(bk.asarray(float(n))) if bk.name == "arb" else math.log(n)
    log_loss_gap = bk.logsumexp(log_gap_i, axis=-1) - log_n

    # Attention on non-optimal tokens: 1 - s_opt. When r == opt it is S / (1 + S); otherwise s_opt <= 1/2.
    s_opt_other = bk.exp(xp.where(at_opt, -1, _take(delta, opt) - log_1pS))
    log_nonopt_i = xp.where(at_opt, log_S - log_1pS, bk.log1p(-s_opt_other))
    log_max_nonopt = xp.max(log_nonopt_i, axis=-1)
    return KernelOut(G_hat, M, loss, log_loss_gap, log_max_nonopt, r, invalid)


# -------------------------------------------------------------------------------------- representations
@dataclass(frozen=True)
class Dense:
    """W itself, shape (B, d, d). Works for every method (elementwise ones too)."""

    X: Array  # (B, n, T, d) in the backend's number type
    Z: Array  # (B, n, d)
    W0: Array  # (B, d, d)
    name: str = "dense"

    def init(self) -> Array:
        return namespace(self.W0).copy(self.W0)

    def logits(self, W: Array) -> Array:
        """a_{i,t} = x_{i,t}^T W z_i: (Z W^T) gives the rows W z_i, then one mat-vec per sequence."""
        return dense_logits(self.X, self.Z, W)

    def gradient(self, G: Array) -> Array:
        """sum_{i,t} G_{i,t} x_{i,t} z_i^T, factored: A_i = sum_t G_{i,t} x_{i,t}, then A^T Z."""
        return rank_one_sum(G, self.X, self.Z)

    def sq_norm(self, V: Array) -> Array:
        """||V||_F^2 per instance. float64 (numpy, torch, jax): one batched dot product, (B, 1, d^2) @ (B, d^2, 1),
        which reads V once and allocates nothing of its size (the sum of V * V builds a (B, d, d) temporary)."""
        if _is_object(V):
            return np.sum(V * V, axis=(1, 2))
        xp = namespace(V)
        B = V.shape[0]
        return xp.matmul(V.reshape(B, 1, -1), V.reshape(B, -1, 1))[:, 0, 0]

    def matrix(self, W: Array) -> Array:
        return W

    def logit_abs_error(self, bk: Backend, W: Array, norms: Array) -> Array:
        """First-order bound on the rounding error of the logits: d u max_{i,t} ||x|| ||z|| ||W||_F."""
        d = self.X.shape[-1]
        largest = np.maximum.reduce if is_float64_array(norms) else bk.xp.max  # (np.max's reduction, no wrapper)
        return bk.eps * d * largest(norms, axis=(1, 2)) * bk.sqrt(self.sq_norm(W))


@dataclass(frozen=True)
class Gram:
    """W = W0 + sum c_{i,t} x_{i,t} z_i^T, carried as c (B, n, T). Exact for GD, NGD and Polyak steps.

    K[(j,s),(i,t)] = <x_{j,s}, x_{i,t}> <z_j, z_i> gives logits a = a0 + K c and ||V||_F^2 = c^T K c.
    ``absK`` = |K| elementwise, computed once by :meth:`build` (it only enters the rounding-error bound).
    """

    X: Array
    Z: Array
    W0: Array
    K: Array  # (B, nT, nT)
    a0: Array  # (B, n, T) logits of W0
    name: str = "gram"
    absK: Any = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)  # mpmath rows, float64 bound data
    size: Any = field(default=None, repr=False, compare=False)  # (B,) each instance's own nT in a padded batch

    @staticmethod
    def build(X: Array, Z: Array, W0: Array) -> Gram:
        xp = namespace(X)
        B, n, T, d = X.shape
        XX = xp.einsum("bntd,bmsd->bntms", X, X)
        ZZ = xp.einsum("bnd,bmd->bnm", Z, Z)
        K = (XX * ZZ[:, :, None, :, None]).reshape(B, n * T, n * T)
        a0 = dense_logits(X, Z, W0)
        gram = Gram(X, Z, W0, K, a0, absK=abs(K))
        if not _is_object(a0):  # a constant of the problem, computed here so no compiled step caches a tracer
            gram._cache["a0max"] = xp.max(abs(a0), axis=(1, 2))
        return gram

    def init(self) -> Array:
        carry = self._cache.get("carry")
        if carry is not None:  # a new run: its logits never depend on an earlier run's
            carry.reset()
        if self.size is not None:  # padded (float64 numpy): a0 is -inf at padding tokens, whose c is 0 too
            return np.zeros(self.a0.shape)
        return self.a0 * 0  # zeros in the backend's number type

    def carried_logits(self, bk: Backend) -> CarriedLogits | None:
        """The step-to-step carry of the logits (float64 numpy, eager, large enough to pay), else None."""
        carry = self._cache.get("carry")
        if (carry is None and "carry" not in self._cache and bk.name == "numpy" and isinstance(self.K, np.ndarray)
                and self.K.dtype == np.float64):
            B, m, _ = self.K.shape
            if CarriedLogits.worthwhile(B, m):
                absK = self.absK if self.absK is not None else np.abs(self.K)
                carry = self._cache["carry"] = CarriedLogits(self.K, absK, self.a0, bk.eps)
        return carry

    def logits(self, c: Array) -> Array:
        B, n, T = c.shape
        return self.a0 + self._matvec(c.reshape(B, n * T)).reshape(B, n, T)

    def gradient(self, G: Array) -> Array:
        return G

    def sq_norm(self, V: Array) -> Array:
        B, n, T = V.shape
        v = V.reshape(B, n * T)
        if not _is_object(v):  # float64 (numpy, torch, jax): checked first, the step's common case
            xp = namespace(V)
            v1 = v.reshape(B, n * T, 1)
            return xp.matmul(v1.swapaxes(1, 2), xp.matmul(self.K, v1))[:, 0, 0]
        if _is_balls(v):
            return np.sum(v * self._matvec(v), axis=-1)
        out = np.empty(B, dtype=object)
        out[:] = [mpmath.fdot(list(v[b]), list(kv)) for b, kv in enumerate(self._matvec(v))]
        return out

    def _matvec(self, v: Array) -> Array:
        """K v for v of shape (B, nT). mpmath: ``mpmath.fdot`` per row (one rounding per entry instead of one
        per operation: the same value to working precision, several times faster than numpy's object matmul).
        Arb balls: one ``arb_mat`` mat-vec per batch entry (verify.arb.matvec)."""
        if not _is_object(v):  # float64 (numpy, torch, jax): checked first, the step's common case
            return namespace(v).matmul(self.K, v[..., None])[..., 0]
        if _is_balls(v):
            from verify.arb import arb_matrix, matvec

            mats = self._cache.get("arb_mats")
            if mats is None:
                mats = self._cache["arb_mats"] = [arb_matrix(Kb) for Kb in self.K]
            out = np.empty(v.shape, dtype=object)
            for b in range(v.shape[0]):
                out[b] = matvec(mats[b], v[b])
            return out
        rows = self._rows()
        out = np.empty(v.shape, dtype=object)
        for b in range(v.shape[0]):
            vb = list(v[b])
            out[b] = [mpmath.fdot(r, vb) for r in rows[b]]
        return out

    def _rows(self) -> list:
        rows = self._cache.get("rows")
        if rows is None:
            rows = self._cache["rows"] = [[list(r) for r in Kb] for Kb in self.K]
        return rows

    def matrix(self, c: Array) -> Array:
        return self.W0 + rank_one_sum(c, self.X, self.Z)

    def logit_abs_error(self, bk: Backend, c: Array, norms: Array) -> Array:
        """u nT max_k (|K| |c|)_k + u max |a0|: the rounding error of a0 + K c.

        On the mpmath backend the bound is evaluated in float64 (it needs a few correct digits, not 50; entries of
        |c| below float64's range would contribute less than 1e-300 absolute, far below u max |a0| + the
        (nT + 8) u term it is added to), so it costs a float64 mat-vec instead of an object one."""
        B, n, T = c.shape
        if bk.name == "mpmath":
            absK_f, a0max_f = self._float_bound_data(bk)
            Kc_f = np.matmul(absK_f, np.abs(bk.to_float(c)).reshape(B, n * T, 1))[..., 0]
            return direct_bound(np.max(Kc_f, axis=-1), a0max_f, n * T, bk.eps)
        xp = bk.xp
        absK = self.absK if self.absK is not None else abs(self.K)
        Kc = xp.matmul(absK, abs(c).reshape(B, n * T, 1))[..., 0]
        a0max: Any = self._cache.get("a0max")
        if a0max is None:
            a0max = self._cache["a0max"] = xp.max(abs(self.a0), axis=(1, 2))  # a constant of the problem
        top = step_kernel.row_max(Kc) if is_float64_array(Kc) else xp.max(Kc, axis=-1)  # (by columns for many B)
        return direct_bound(top, a0max, n * T if self.size is None else self.size, bk.eps)

    def _float_bound_data(self, bk: Backend) -> tuple[np.ndarray, np.ndarray]:
        got = self._cache.get("float_bound")
        if got is None:
            got = self._cache["float_bound"] = (np.abs(bk.to_float(self.K)),
                                                np.max(np.abs(bk.to_float(self.a0)), axis=(1, 2)))
        return got


def _is_object(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == object


def _all_positive(x: Any) -> bool:
    """Whether every entry of a float64 array is > 0 (False for NaN; False, without looking, for any other
    array type): where it holds, ``where(x > 0, a, b)`` is ``a`` itself, so a step can skip that call."""
    return is_float64_array(x) and x.size > 0 and bool(np.minimum.reduce(x, axis=None) > 0)


def _is_balls(x: Any) -> bool:
    """An object array of Arb balls (the arb backend)."""
    if not _is_object(x):
        return False
    from verify.arb import is_ball_array

    return is_ball_array(x)


def dense_logits(X: Array, Z: Array, W: Array) -> Array:
    """x_{i,t}^T W z_i for X (..., n, T, d), Z (..., n, d), W (..., d, d), factored: the rows W z_i (Z W^T), then
    one mat-vec per sequence. O(n d^2 + n T d) instead of a contraction over all four indices at once."""
    xp = namespace(W)
    Wz = xp.matmul(Z, W.swapaxes(-1, -2))
    return xp.matmul(X, Wz[..., None])[..., 0]


def rank_one_sum(G: Array, X: Array, Z: Array) -> Array:
    """sum_{i,t} G_{i,t} x_{i,t} z_i^T for G (..., n, T), factored: A_i = sum_t G_{i,t} x_{i,t} (a mat-vec per
    sequence), then A^T Z. O(n T d + n d^2) instead of the 3-operand contraction's O(n T d^2)."""
    xp = namespace(G)
    A = xp.matmul(G[..., None, :], X)[..., 0, :]
    return xp.matmul(A.swapaxes(-1, -2), Z)


Representation = Dense | Gram
REPRESENTATIONS = ("dense", "gram")
DEFAULT_REPRESENTATION = "gram"  # the model's default (verify.model.Model.representations[0])


def representation_of(name: str) -> str:
    """A representation name, the default (gram) when empty (``Settings.representation`` left to the model)."""
    return name or DEFAULT_REPRESENTATION


# ---------------------------------------------------------------------------------------------- problem
class FirstOrder(NamedTuple):
    """What a step rule needs: the unit-norm gradient (in the representation), log ||grad L||_F and
    log(L - L*), plus the kernel's by-products and a first-order estimate of the direction's relative error."""

    unit_grad: Array
    log_grad_norm: Array  # (B,)
    log_loss_gap: Array  # (B,)
    rel_error: np.ndarray  # (B,) float
    kernel: KernelOut


@dataclass(frozen=True)
class FixedDecoderProblem:
    """min_W L(W) with the decoder u fixed, on a batch, in one representation and one backend."""

    bk: Backend
    rep: Dense | Gram
    g: Array  # (B, n, T) in backend numbers
    opt: np.ndarray
    norms: Array  # (B, n, T) ||x_{i,t}|| ||z_i||
    norms_f: np.ndarray | None = None  # the same in float64 (the mpmath backend's error bound runs in float64)
    host: Batch | None = field(default=None, repr=False, compare=False)  # float64 data: rebuilds W from c lazily
    pad: Any = field(default=None, repr=False, compare=False)  # instances of several shapes (attention.padding)

    lazy_metrics = True
    """``first_order(state, metrics=False)`` skips the checkpoint metrics (verify.trajectory.run uses it)."""

    @property
    def iterate_record(self) -> str:
        """The record that holds the iterate (the runner's "did it move" watch): c for Gram, W for dense."""
        return "c" if self.rep.name == "gram" else "W"

    def init(self) -> Array:
        return self.rep.init()

    def compile_parts(self) -> tuple[tuple, dict[str, Array], Any]:
        """For a compiled run (verify.trajectory.compiled_segment): the problem's data as arrays, a key of their
        shapes and of the representation, and ``rebuild(arrays)``, this problem on those arrays."""
        rep = self.rep
        rep_arrays = {"X": rep.X, "Z": rep.Z, "W0": rep.W0}
        if isinstance(rep, Gram):
            rep_arrays |= {"K": rep.K, "a0": rep.a0, "absK": rep.absK, "a0max": rep._cache["a0max"]}
            if self.bk.name == "jax":  # the carried logits' block data (computed once, eagerly)
                if "carry_data" not in rep._cache:
                    B, n, T = rep.a0.shape
                    rep._cache["carry_data"] = block_data(rep.K, rep.absK, n, T, self.bk.xp)
                rep_arrays |= dict(zip(("diag", "beta"), rep._cache["carry_data"], strict=True))
        arrays = {"rep": rep_arrays, "g": self.g, "norms": self.norms, "opt": self.opt}
        key = (type(self).__name__, rep.name, self.bk.name,
               tuple((k, tuple(v.shape), v.dtype.str) for k, v in sorted(rep_arrays.items())),
               self._carries_compiled())

        def rebuild(arrs: dict) -> FixedDecoderProblem:
            r = dict(arrs["rep"])
            if isinstance(rep, Gram):
                cache = {"a0max": r["a0max"]} | ({"carry_data": (r["diag"], r["beta"])} if "diag" in r else {})
                new_rep: Dense | Gram = replace(rep, X=r["X"], Z=r["Z"], W0=r["W0"], K=r["K"], a0=r["a0"],
                                                absK=r["absK"], _cache=cache)
            else:
                new_rep = replace(rep, X=r["X"], Z=r["Z"], W0=r["W0"])
            return replace(self, rep=new_rep, g=arrs["g"], norms=arrs["norms"], opt=arrs["opt"])
        return key, arrays, rebuild

    def first_order(self, state: Array, metrics: bool = True) -> FirstOrder:
        bk, rep, xp = self.bk, self.rep, self.bk.xp
        carry = rep.carried_logits(bk) if isinstance(rep, Gram) else None
        if carry is not None:
            return self._first_order_carried(carry, state, metrics)
        k = softmax_logistic_kernel(bk, rep.logits(state), self.g, self.opt, metrics, self.pad)
        V = rep.gradient(k.G_hat)
        sq = rep.sq_norm(V)
        nrm = bk.sqrt(sq)
        safe = nrm if _all_positive(sq) else xp.where(sq > 0, nrm, 1)
        B = k.G_hat.shape[0]
        scale = safe.reshape((B,) + (1,) * (state.ndim - 1))
        if isinstance(rep, Dense) and isinstance(V, np.ndarray) and V.dtype == np.float64:
            unit = np.divide(V, scale, out=V)  # V is rank_one_sum's own new array: no (B, d, d) temporary
        else:
            unit = V / scale
        log_norm = k.log_scale + bk.log(nrm)
        rel = self._ball_width(state, unit, sq) if bk.name == "arb" else self._rel_error(state, k.G_hat, sq, safe)
        return FirstOrder(unit, log_norm, k.log_loss_gap, rel, k)

    def _first_order_carried(self, carry: CarriedLogits, state: Array, metrics: bool) -> FirstOrder:
        """first_order for the Gram representation with carried logits (one mat-vec, K G, per step): the same
        kernel and precision watch, the logits and their error bound from ``carry`` (carried_logits.py)."""
        B, n, T = state.shape
        c = state.reshape(B, n * T)
        a, E = carry.logits(c)
        fo, unit, K_unit = self._from_carried_logits(a, E, metrics)
        carry.took(c, unit, K_unit)
        return fo

    def compiled_carry_init(self, state: Array) -> Carry | None:
        """The loop state of carried logits for a compiled (jax) run of the Gram representation where carrying
        pays (carried_logits.worthwhile), else None; verify.compiled then calls :meth:`first_order_carried`."""
        if not self._carries_compiled():
            return None
        B, n, T = state.shape
        return empty_carry(state.reshape(B, n * T), self.bk.xp)

    def _carries_compiled(self) -> bool:
        """Whether a compiled run carries the logits (part of the compiled program's key)."""
        rep = self.rep
        if not (isinstance(rep, Gram) and self.bk.name == "jax" and "carry_data" in rep._cache):
            return False
        B, n, T = rep.a0.shape
        return worthwhile(B, n * T)

    def first_order_carried(self, state: Array, carry: Carry, metrics: bool = True) -> tuple[FirstOrder, Carry]:
        """first_order inside a compiled loop with the logits carried in ``carry`` (carried_logits.py): one
        mat-vec per step, a batched direct evaluation when any instance's bound would pass its limit."""
        rep, xp = self.rep, self.bk.xp
        assert isinstance(rep, Gram)
        B, n, T = state.shape
        c = state.reshape(B, n * T)
        diag, beta = rep._cache["carry_data"]
        a, E, Bc, limit, _ = compiled_logits(carry, c, rep.K, rep.absK, rep.a0.reshape(B, n * T),
                                             rep._cache["a0max"], diag, beta, self.bk.eps)
        fo, unit, K_unit = self._from_carried_logits(a, E, metrics)
        return fo, took_carry(c, a, E, Bc, limit, unit, K_unit, diag, beta, xp)

    def _from_carried_logits(self, a: Array, E: Array, metrics: bool) -> tuple[FirstOrder, Array, Array]:
        """The first order from logits ``a`` (B, nT) with error bound E (B,), and the direction u and K u flat
        (B, nT): the kernel, ||grad||^2 = G^T (K G) and the precision watch rho (2E + (nT + 8) eps)."""
        bk, xp = self.bk, self.bk.xp
        assert isinstance(self.rep, Gram)
        B, n, T = self.g.shape
        k = softmax_logistic_kernel(bk, a.reshape(B, n, T), self.g, self.opt, metrics, self.pad)
        G = k.G_hat.reshape(B, n * T)
        KG = xp.matmul(self.rep.K, G[..., None])[..., 0]
        sq = xp.sum(G * KG, axis=-1)
        nrm = xp.sqrt(sq)
        safe = xp.where(sq > 0, nrm, 1.0)
        unit = G / safe[:, None]
        rho = xp.sum(abs(k.G_hat) * self.norms, axis=(1, 2)) / safe
        with np.errstate(divide="ignore"):
            log_norm = k.log_scale + xp.log(nrm)
        rel = xp.where(sq > 0, rho * (2 * E + (n * T + 8) * bk.eps), math.inf)
        fo = FirstOrder(unit.reshape(B, n, T), log_norm, k.log_loss_gap, rel, k)
        return fo, unit, KG / safe[:, None]

    @staticmethod
    def _ball_width(state: Array, unit: Array, sq: Array) -> np.ndarray:
        """Arb balls: the precision watch reads the balls' relative widths (radius / midpoint) of the direction
        and of the iterate, and inf where ||grad||^2 is not certainly positive (verify.arb.rel_width)."""
        from verify.arb import rel_width

        pos = np.asarray(sq > 0, dtype=bool)
        return np.where(pos, np.maximum(rel_width(unit), rel_width(state)), math.inf)

    def _rel_error(self, state: Array, G_hat: Array, sq: Array, safe: Array) -> np.ndarray:
        """Relative error of the computed direction (first order): each rank-one term carries relative error
        ~ 2 * logit error + (nT + 8) u; cancellation among terms amplifies it by
        rho = sum |G_it| ||x_it|| ||z_i|| / ||sum G_it x_it z_i^T||.

        On the mpmath backend with the Gram representation the bound is evaluated in float64 from the rounded
        G_hat and ||grad||: a bound needs a few correct digits, and G_hat is O(1) by construction (log-scaled).
        A ||grad|| below float64's range makes rho infinite there, which flags the step (never hides it)."""
        bk, rep = self.bk, self.rep
        n, T = G_hat.shape[1:]
        if bk.name == "mpmath" and rep.name == "gram" and self.norms_f is not None:
            pos = np.asarray(sq > 0, dtype=bool)
            with np.errstate(divide="ignore", over="ignore"):
                rho = np.sum(np.abs(bk.to_float(G_hat)) * self.norms_f, axis=(1, 2)) / bk.to_float(safe)
            per_term = 2 * rep.logit_abs_error(bk, state, self.norms) + (n * T + 8) * bk.eps
            return np.where(pos, rho * per_term, math.inf)
        xp = bk.xp
        total = np.add.reduce if is_float64_array(G_hat) else xp.sum  # (np.sum's own reduction, without its wrapper)
        rho = total(abs(G_hat) * self.norms, axis=(1, 2)) / safe
        nT = n * T if self.pad is None else self.pad.size
        per_term = 2 * rep.logit_abs_error(bk, state, self.norms) + (nT + 8) * bk.eps
        rel = rho * per_term
        return bk.to_float(rel if _all_positive(sq) else xp.where(sq > 0, rel, math.inf))

    def observe(self, state: Array, fo: FirstOrder) -> dict[str, np.ndarray]:
        """Checkpoint metrics in float64: loss, log(L - L*), log max non-opt attention, log ||grad||, the selected
        (argmax-attention) tokens, and the iterate: W (B, d, d) and ||W|| for dense; for Gram the coefficients c
        (B, n, T), from which :meth:`derived_records` rebuilds W and ||W|| only for the instances and checkpoints a
        caller reads (the mpmath backend, whose runs are small, also keeps W itself, rebuilt at full precision)."""
        bk, k = self.bk, fo.kernel
        if k.invalid is not None and bool(np.any(np.asarray(k.invalid))):
            raise FloatingPointError(LOSS_GAP_INVALID)
        out = {
            "loss": bk.to_float(k.loss),
            "log_loss_gap": bk.to_float(k.log_loss_gap),
            "log_max_nonopt": bk.to_float(k.log_max_nonopt),
            "log_grad_norm": bk.to_float(fo.log_grad_norm),
            "selected": bk.to_numpy(k.selected),
        }
        if bk.name == "arb":
            return self._observe_balls(state, fo, out)
        if self.rep.name == "gram" and self.host is not None:
            out["c"] = bk.to_float(state)
            if bk.name != "mpmath":
                return out
        W = bk.to_float(self.rep.matrix(state))
        out.update({"W": W, "norm": np.linalg.norm(W, axis=(1, 2))})
        return out

    def _observe_balls(self, state: Array, fo: FirstOrder, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Arb balls: the float64 midpoints as for the other backends, plus ``<name>_log10_rad`` (log10 of upper
        bounds on the radii) of every metric, of the iterate and of W (rebuilt in balls), ``W_ball`` (W's balls
        themselves), ``norm`` (||W||_F in balls) and ``selected_certain`` (per sequence: the selected token's
        logit ball is certainly above every other one; False where only the midpoints decide it)."""
        from verify.arb import certainly_greatest, log10_radius

        bk, k = self.bk, fo.kernel
        for name, v in (("loss", k.loss), ("log_loss_gap", k.log_loss_gap), ("log_max_nonopt", k.log_max_nonopt),
                        ("log_grad_norm", fo.log_grad_norm)):
            out[name + "_log10_rad"] = log10_radius(v)
        out["selected_certain"] = certainly_greatest(self.rep.logits(state), k.selected)
        if self.rep.name == "gram":
            out["c"], out["c_log10_rad"] = bk.to_float(state), log10_radius(state)
        W = self.rep.matrix(state)
        nrm = bk.sqrt(np.sum(W * W, axis=(1, 2)))
        out.update({"W": bk.to_float(W), "W_log10_rad": log10_radius(W), "W_ball": W, "norm": bk.to_float(nrm),
                    "norm_log10_rad": log10_radius(nrm)})
        return out

    def derived_records(self) -> dict[str, Any]:
        """Records computed on demand from the stored ones (see verify.trajectory.Records)."""
        if self.rep.name != "gram" or self.host is None or self.bk.name in ("mpmath", "arb"):
            return {}
        m = GramMatrices(self.host.X, self.host.Z, self.host.W0)
        return {"W": m, "norm": GramNorms(m)}


@dataclass(frozen=True)
class GramMatrices:
    """W_t = W0 + sum c_{i,t} x_{i,t} z_i^T at each checkpoint, rebuilt in float64 from the recorded c for the
    instances asked for only (a Gram run never holds B d x d matrices per checkpoint)."""

    X: np.ndarray  # (B, n, T, d) float64
    Z: np.ndarray
    W0: np.ndarray

    def __call__(self, stored: dict[str, np.ndarray], sel: int | slice) -> np.ndarray:
        c = stored["c"][:, sel]  # (L, n, T) for an int, (L, B', n, T) for a slice
        return self.W0[sel] + rank_one_sum(c, self.X[sel], self.Z[sel])

    def take(self, b: int) -> GramMatrices:
        return GramMatrices(self.X[b:b + 1], self.Z[b:b + 1], self.W0[b:b + 1])


@dataclass(frozen=True)
class GramNorms:
    """||W_t||_F from :class:`GramMatrices`, one instance at a time (no B d x d matrices at once)."""

    m: GramMatrices

    def __call__(self, stored: dict[str, np.ndarray], sel: int | slice) -> np.ndarray:
        if isinstance(sel, int):
            return np.linalg.norm(self.m(stored, sel), axis=(-2, -1))
        idx = range(self.m.X.shape[0])[sel]
        cols = [np.linalg.norm(self.m(stored, b), axis=(-2, -1)) for b in idx]
        return np.stack(cols, axis=1) if cols else np.zeros((len(stored["c"]), 0))

    def take(self, b: int) -> GramNorms:
        return GramNorms(self.m.take(b))


def build_problem(bk: Backend, batch: Batch, representation: str = "gram") -> FixedDecoderProblem:
    """The problem on ``bk``. Everything derived from the data (K, a0, the scores g) is computed at the backend's
    working precision: inside ``bk.context()``, so an mpmath K or g is not rounded to mpmath's default 53 bits
    when the caller builds the problem outside the context (as verify.trajectory.run's callers do)."""
    with bk.context():
        return _build_problem(bk, batch, representation)


def _build_problem(bk: Backend, batch: Batch, representation: str) -> FixedDecoderProblem:
    X, Z, W0 = bk.asarray(batch.X), bk.asarray(batch.Z), bk.asarray(batch.W0)
    representation = representation_of(representation)
    if representation == "dense":
        rep: Dense | Gram = Dense(X, Z, W0)
    elif representation == "gram":
        rep = Gram.build(X, Z, W0)
    else:
        raise VerifyInputError(f"unknown representation {representation!r}; expected one of {REPRESENTATIONS}")
    norms_f = np.linalg.norm(batch.X, axis=3) * np.linalg.norm(batch.Z, axis=2)[:, :, None]
    norms = bk.asarray(norms_f)  # exact for every backend
    # g = y u^T x in the backend's own precision: float64 scores would cap the mpmath oracle at 1e-16.
    g = bk.asarray(batch.y)[:, :, None] * bk.xp.einsum("bntd,bd->bnt", X, bk.asarray(batch.u))
    return FixedDecoderProblem(bk, rep, g, bk.asindex(batch.opt), norms, norms_f, batch)


# ---------------------------------------------------------------------------------------------- metrics
def direction_error(W: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """e = || W/||W|| - V/||V|| ||_F and corr = <W, V>/(||W|| ||V||), batched over the leading axis.

    e is computed from the difference itself, not as sqrt(2(1 - corr)), which cancels when corr ~ 1.
    """
    Wn = W / np.linalg.norm(W, axis=(-2, -1), keepdims=True)
    Vn = target / np.linalg.norm(target, axis=(-2, -1), keepdims=True)
    return np.linalg.norm(Wn - Vn, axis=(-2, -1)), np.sum(Wn * Vn, axis=(-2, -1))

