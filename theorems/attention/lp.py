"""lp mirror descent on the attention classifier (JTA24, docs/catalogue.md Part A), on the dense representation.

Potential psi(W) = (1/p) ||W||_p^p (entrywise), 1 < p < inf, q = p/(p-1):

    phi(W)      = grad psi(W)   = sign(W) |W|^{p-1}
    phi^{-1}(T) = grad psi*(T)  = sign(T) |T|^{1/(p-1)} = sign(T) |T|^{q-1}

lp-AttGD [seed: 003]:  Theta_t = phi(W_t),  Theta_{t+1} = Theta_t - eta G_t,  W_{t+1} = phi^{-1}(Theta_{t+1}),
with G = grad L (plain) or G = grad L / ||grad L||_q (normalized). p = 2 is GD (phi = identity).

Numerics:
- The dual iterate Theta is the method state and is accumulated exactly as the definition says; W is recomputed
  from it every step, so errors of the steep inverse map do not accumulate.
- phi^{-1} works with log-magnitudes: |W| = exp(log|Theta| / (p-1)) (no |Theta|^{1/(p-1)} overflow or
  underflow in an intermediate; a W that itself would leave float64's range is reported, not returned as inf).
- q-norms are taken after dividing by the largest entry (``scaled_norm``), so |G|^q never under/overflows,
  even for q = 11 (p = 1.1).
- Normalized steps use the kernel's scale-free direction fo.unit_grad: G/||G||_q = unit/||unit||_q.
- Each step estimates the relative error of the new W (``LpMirrorDescent.step_error``): the rounding of
  Theta_{t+1} (absolute error e_ij ~ u (|Theta_ij| + eta |G_ij|)) pushed through phi^{-1}. For p > 2 the map is
  Hoelder-1/(p-1) at 0, so an entry of Theta that sits at rounding level (a zero crossing) can carry an error of
  e^{1/(p-1)}: the estimate takes ((|Theta|+e)^{r} - max(|Theta|-e, 0)^{r}) per entry, r = 1/(p-1). The trajectory
  runner folds it into its precision watch, so such steps are flagged instead of silently used.

The joint problem on (W, u) (``JointProblem``) uses its own stable kernel: l'(m) = -sigmoid(-m) underflows once
the margin passes 745, which joint training reaches; here every sequence's coefficient is carried as a log
(log|l'(gbar_i)| + m_i) and the gradient as a log scale times a direction, per block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.svm_lp import check_p, dual_exponent
from verify.backends import Array, Backend, elementwise_exp, elementwise_log
from verify.errors import VerifyInputError

_LOG_MAX = 700.0  # exp(700) ~ 1e304: a magnitude above this is not representable with headroom in float64


# ------------------------------------------------------------------------------------------- mirror maps
def _unit_roundoff(x: Array) -> float:
    """u of the number type of ``x``: 2^-53 for float64, 10^-dps (the working precision) for mpmath."""
    if np.asarray(x).dtype == object:
        import mpmath

        return float(mpmath.mpf(10) ** (-mpmath.mp.dps))
    return float(np.finfo(float).eps)


def _sign(x: Array) -> Array:
    return np.where(x > 0, 1, np.where(x < 0, -1, 0))


def signed_power(x: Array, r: float) -> Array:
    """sign(x) |x|^r via log-magnitudes: exp(r log|x|), 0 at 0. No intermediate overflows; a result beyond
    float64's range becomes inf and the caller reports it."""
    a = abs(np.asarray(x))
    la = elementwise_log(np.where(a > 0, a, 1))
    return np.where(a > 0, _sign(x) * elementwise_exp(r * la), 0 * a)


def phi(W: Array, p: float) -> Array:
    """grad psi(W) = sign(W)|W|^{p-1}."""
    return signed_power(W, p - 1.0)


def phi_inv(Theta: Array, p: float) -> Array:
    """grad psi*(Theta) = sign(Theta)|Theta|^{1/(p-1)}."""
    return signed_power(Theta, 1.0 / (p - 1.0))


def scaled_norm(V: Array, r: float, axes: tuple[int, ...]) -> Array:
    """||V||_r over ``axes`` computed as m (sum (|V|/m)^r)^{1/r}, m = max|V| (0 for V = 0): no |V|^r
    under/overflow for any r."""
    a = abs(np.asarray(V))
    m = np.max(a, axis=axes, keepdims=True)
    safe = np.where(m > 0, m, 1)
    s = np.sum((a / safe) ** r, axis=axes, keepdims=True) ** (1.0 / r)
    return np.squeeze(m * s, axis=axes)


def lp_normalize(V: np.ndarray, p: float) -> np.ndarray:
    """V / ||V||_p (entrywise over all but the leading batch axis), float64."""
    axes = tuple(range(1, V.ndim))
    n = scaled_norm(V, p, axes)
    return V / np.reshape(np.where(n > 0, n, 1), (-1,) + (1,) * (V.ndim - 1))


def bregman_direction(W: np.ndarray, target: np.ndarray, p: float) -> np.ndarray:
    """Directional Bregman divergence D = 1 - < sign(V)|V|^{p-1}, U >, U = target/||target||_p, V = W/||W||_p
    [seed: 003], batched over the leading axis of W (target broadcasts).

    Since ||U||_p = ||V||_p = 1, D = sum_j b(U_j, V_j) with the scalar Bregman divergence
    b(u, v) = |u|^p/p - |v|^p/p - phi(v)(u - v) >= 0 of |x|^p/p: every term is nonnegative, so there is no
    cancellation across entries. Within an entry, where |u - v| <= 1e-4 |v| the direct formula cancels and the
    third-order Taylor expansion b = (p-1)/2 |v|^{p-2} h^2 + (p-1)(p-2)/6 sign(v)|v|^{p-3} h^3 (h = u - v) is used;
    its truncation error is O((h/v)^2) = 1e-8 relative to the term, below the 1e-6 agreement any verdict needs.
    D lies in [0, 2] (Hoelder) and is 0 iff the directions agree.
    """
    V = lp_normalize(np.asarray(W, dtype=float), p)
    U = lp_normalize(np.broadcast_to(np.asarray(target, dtype=float), V.shape).copy(), p)
    h = U - V
    av = np.abs(V)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = np.abs(U) ** p / p - av**p / p - np.sign(V) * av ** (p - 1) * h
        small = np.abs(h) <= 1e-4 * av
        taylor = (p - 1) / 2 * av ** (p - 2) * h**2 + (p - 1) * (p - 2) / 6 * np.sign(V) * av ** (p - 3) * h**3
    b = np.where(small & (av > 0), taylor, direct)
    return np.sum(np.maximum(b, 0.0), axis=tuple(range(1, V.ndim)))


# ------------------------------------------------------------------------------------------------ method
class LpState(NamedTuple):
    """Method state: the dual iterate(s) Theta = phi(W) and the last step's estimated relative error of W."""

    theta: Any  # array, or tuple of arrays for joint parameters
    rel_error: np.ndarray  # (B,)


@dataclass(frozen=True)
class LpMirrorDescent:
    """lp-AttGD (optax style): ``Theta <- Theta - eta G``, ``W <- phi^{-1}(Theta)``, per block for tuple params.

    ``normalized``: G = grad L / ||grad L||_q per block (the authors' synthetic experiments); otherwise the plain
    gradient e^{log ||grad||} * unit_grad. For joint parameters the FirstOrder carries per-block unit gradients
    and per-block log norms (``log_block_norms``).
    """

    p: float
    eta: float
    normalized: bool = True
    blockwise: bool = True  # joint parameters: normalize each block (PRIOR's code) or the concatenation
    name: str = "lp-md"
    needs_loss_gap = False  # a mirror step reads the gradient only (verify.trajectory.run)

    def __post_init__(self) -> None:
        check_p(self.p)
        if not (math.isfinite(self.eta) and self.eta > 0):
            raise VerifyInputError(f"eta must be a positive finite number, got {self.eta!r}")

    @property
    def q(self) -> float:
        return dual_exponent(self.p)

    def init(self, params: Any) -> LpState:
        if isinstance(params, tuple):
            theta: Any = tuple(phi(w, self.p) for w in params)
            B = np.shape(params[0])[0]
        else:
            theta, B = phi(params, self.p), np.shape(params)[0]
        return LpState(theta, np.zeros(B))

    def _block(self, W: Array, theta: Array, unit: Array, log_norm: Array,
               joint_q: Array | None = None) -> tuple[Array, Array, np.ndarray]:
        """One block. ``joint_q`` (B,): for concatenated normalization, ||G||_q of the whole gradient divided by
        e^{log_norm} of this block (so the step is eta e^{log_norm} unit / ||G||_q without forming e^{log_norm})."""
        B = np.shape(W)[0]
        axes = tuple(range(1, np.ndim(W)))
        shape = (B,) + (1,) * (np.ndim(W) - 1)
        if self.normalized and joint_q is not None:
            step = self.eta * unit / np.reshape(np.where(joint_q > 0, joint_q, 1), shape)
        elif self.normalized:
            qn = scaled_norm(unit, self.q, axes)
            step = self.eta * unit / np.reshape(np.where(qn > 0, qn, 1), shape)
        else:
            step = self.eta * np.reshape(elementwise_exp(log_norm), shape) * unit
        new_theta = theta - step
        new_W = phi_inv(new_theta, self.p)
        return new_W, new_theta, self._map_error(new_theta, step, new_W, axes)

    def _map_error(self, theta: Array, step: Array, W: Array, axes: tuple[int, ...]) -> np.ndarray:
        """Estimated ||dW||_F / ||W||_F from rounding Theta (see the module docstring); inf if W overflowed."""
        u = _unit_roundoff(theta)
        th = np.abs(np.asarray(theta, dtype=float))
        e = u * (th + np.abs(np.asarray(step, dtype=float)))
        r = 1.0 / (self.p - 1.0)
        Wf = np.asarray(W, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            lin = 2 * r * np.abs(Wf) * np.where(th > 0, e / np.where(th > 0, th, 1), 0)  # |dW| ~ r |W| |dTheta|/|Theta|
            near = (th + e) ** r - np.maximum(th - e, 0) ** r
            dW = np.where(e < 1e-8 * th, lin, near) + 4 * u * np.abs(Wf)
            rel = np.sqrt(np.sum(dW**2, axis=axes)) / np.sqrt(np.sum(Wf**2, axis=axes))
        bad = ~np.all(np.isfinite(Wf), axis=axes)
        return np.where(bad, np.inf, np.nan_to_num(rel, nan=0.0, posinf=np.inf))

    def update(self, params: Any, state: LpState, fo: Any, t: int) -> tuple[Any, LpState]:
        if isinstance(params, tuple):
            jq: list[Any] = [None] * len(params)
            if self.normalized and not self.blockwise:
                # ||G||_q / e^{l_k} for block k, with G = (e^{l_j} unit_j)_j, all relative to the largest l_j.
                logs = list(fo.log_block_norms)
                top = np.max(np.stack([np.asarray(v, dtype=float) for v in logs]), axis=0)
                parts = [scaled_norm(u, self.q, tuple(range(1, np.ndim(u)))) * elementwise_exp(lg - top)
                         for u, lg in zip(fo.unit_grad, logs, strict=True)]
                m = np.max(np.stack(parts), axis=0)
                safe = np.where(m > 0, m, 1)
                total = safe * sum((pt / safe) ** self.q for pt in parts) ** (1.0 / self.q)
                jq = [total * elementwise_exp(top - lg) for lg in logs]
            outs = [self._block(w, th, un, ln, j) for w, th, un, ln, j in
                    zip(params, state.theta, fo.unit_grad, fo.log_block_norms, jq, strict=True)]
            rel = np.max(np.stack([o[2] for o in outs]), axis=0)
            return tuple(o[0] for o in outs), LpState(tuple(o[1] for o in outs), rel)
        W, theta, rel = self._block(params, state.theta, fo.unit_grad, fo.log_grad_norm)
        return W, LpState(theta, rel)

    def step_error(self, state: LpState) -> np.ndarray:
        """Relative error of the last W produced (read by the trajectory runner's precision watch)."""
        return state.rel_error

    def to_json(self) -> dict:
        return {"name": self.name, "p": self.p, "eta": self.eta, "normalized": self.normalized,
                "blockwise": self.blockwise}


# ------------------------------------------------------------------------------------- fixed-decoder run
def fixed_decoder_problem(bk: Backend, inst: ac.AttentionInstance) -> ac.FixedDecoderProblem:
    """The fixed-decoder problem on the dense representation (W itself; mirror steps leave the Gram span)."""
    if ac.score_gaps(inst).min() <= 0:
        raise VerifyInputError("the optimal token is not unique (tied token scores): L* is undefined")
    return ac.build_problem(bk, ac.stack([inst]), "dense")


# ------------------------------------------------------------------------------------------ joint problem
class JointFirstOrder(NamedTuple):
    """First-order data of L(W, u): per-block Frobenius-unit gradients and log norms; ``log_grad_norm`` is the
    log norm of the concatenated gradient (what the runner watches); ``log_loss_gap`` is log L (L* = 0)."""

    unit_grad: tuple[Array, Array]
    log_grad_norm: Array
    log_block_norms: tuple[Array, Array]
    log_loss_gap: Array
    rel_error: np.ndarray
    loss: Array
    selected: np.ndarray


@dataclass(frozen=True)
class JointProblem:
    """min_{W,u} L(W, u) = (1/n) sum_i l(y_i u^T X_i^T s_i(W)) on a batch (dense W, shape (B, d, d); u (B, d)).

    Gradients [derived] with gbar_i = y_i f_i and g_{i,t} = y_i u^T x_{i,t}:
    grad_W = (1/n) sum_i l'(gbar_i) sum_{t != r} s_{i,t}(g_{i,t} - gbar_i)(x_{i,t} - x_{i,r}) z_i^T,
    grad_u = (1/n) sum_i l'(gbar_i) y_i X_i^T s_i.
    """

    bk: Backend
    X: Array  # (B, n, T, d)
    Z: Array  # (B, n, d)
    y: Array  # (B, n)
    W0: Array
    u0: Array
    norms: Array  # (B, n, T)

    @staticmethod
    def build(bk: Backend, inst: ac.AttentionInstance, u0: np.ndarray | None = None) -> JointProblem:
        b = ac.stack([inst])
        u = b.u if u0 is None else np.asarray(u0, dtype=float)[None]
        norms = np.linalg.norm(b.X, axis=3) * np.linalg.norm(b.Z, axis=2)[:, :, None]
        return JointProblem(bk, bk.asarray(b.X), bk.asarray(b.Z), bk.asarray(b.y), bk.asarray(b.W0),
                            bk.asarray(u), bk.asarray(norms))

    def init(self) -> tuple[Array, Array]:
        return (self.W0.copy(), self.u0.copy())

    def first_order(self, state: tuple[Array, Array]) -> JointFirstOrder:
        bk = self.bk
        W, u = state
        a = ac.dense_logits(self.X, self.Z, W)
        g = self.y[:, :, None] * np.einsum("bntd,bd->bnt", self.X, u)
        B, n, T = a.shape
        r = np.argmax(a, axis=-1)
        nonref = np.arange(T)[None, None, :] != r[..., None]
        delta = a - np.take_along_axis(a, r[..., None], axis=-1)
        m = np.max(np.where(nonref, delta, bk.asarray(-math.inf)), axis=-1)
        w = np.where(nonref, bk.exp(np.where(nonref, delta - m[..., None], 0)), 0)
        log_S = m + bk.log(np.sum(w, axis=-1))
        log_1pS = bk.softplus(log_S)
        s_hat = w * bk.exp(-log_1pS)[..., None]
        g_r = np.take_along_axis(g, r[..., None], axis=-1)[..., 0]
        dg = g - g_r[..., None]
        D_hat = np.sum(s_hat * dg, axis=-1)
        e_m = bk.exp(m)
        gbar = g_r + e_m * D_hat
        log_lp = -bk.softplus(gbar)  # log |l'(gbar)| = log sigmoid(-gbar), never underflows
        # W block: coefficient of sequence i is e^{log_lp_i + m_i} (times O(1) factors), scaled by its max.
        cW = log_lp + m
        MW = np.max(cW, axis=-1)
        GW_nonref = -(bk.exp(cW - MW[:, None]) / n)[..., None] * s_hat * (dg - (e_m * D_hat)[..., None])
        GW = np.where(~nonref, -np.sum(GW_nonref, axis=-1)[..., None], GW_nonref)
        gW = ac.rank_one_sum(GW, self.X, self.Z)
        # u block: s_i = e^{m} s_hat off the reference token, 1/(1+S) on it.
        s = np.where(nonref, e_m[..., None] * s_hat, bk.exp(-log_1pS)[..., None])
        Mu = np.max(log_lp, axis=-1)
        cu = -(bk.exp(log_lp - Mu[:, None]) / n) * self.y
        gu = np.matmul((cu[..., None] * s).reshape(B, 1, n * T), self.X.reshape(B, n * T, -1))[:, 0, :]
        nW, nu = bk.sqrt(np.sum(gW * gW, axis=(1, 2))), bk.sqrt(np.sum(gu * gu, axis=1))
        with np.errstate(divide="ignore"):  # a zero block (grad_W at u = 0) has log norm -inf, exactly
            lW = MW + bk.log(nW)
            lu = Mu + bk.log(nu)
        uW = gW / np.where(nW > 0, nW, 1)[:, None, None]
        uu = gu / np.where(nu > 0, nu, 1)[:, None]
        both = np.maximum(lW, lu)
        ltot = both + 0.5 * bk.log(bk.exp(2 * (lW - both)) + bk.exp(2 * (lu - both)))
        log_loss = _log_mean_softplus(bk, -gbar)
        # Relative error of the W direction, as in the fixed-decoder kernel (rho times per-term error).
        Wnorm = bk.sqrt(np.sum(W * W, axis=(1, 2)))
        d = self.X.shape[-1]
        logit_err = bk.eps * d * np.max(self.norms, axis=(1, 2)) * Wnorm
        rho = np.sum(abs(GW) * self.norms, axis=(1, 2)) / np.where(nW > 0, nW, 1)
        # grad_W = 0 exactly at u = 0 [derived] (not a loss of precision); otherwise a vanishing W-gradient is.
        u_zero = np.all(u == 0, axis=-1)
        rel = np.where(nW > 0, rho * (2 * logit_err + (n * T + 8) * bk.eps), np.where(u_zero, 0.0, np.inf))
        loss = bk.exp(log_loss)
        return JointFirstOrder((uW, uu), ltot, (lW, lu), log_loss, bk.to_float(rel), loss, np.asarray(r))

    def observe(self, state: tuple[Array, Array], fo: JointFirstOrder) -> dict[str, np.ndarray]:
        bk = self.bk
        W, u = (bk.to_float(v) for v in state)
        return {"W": W, "u": u, "norm": np.linalg.norm(W, axis=(1, 2)), "u_norm": np.linalg.norm(u, axis=1),
                "loss": bk.to_float(fo.loss), "log_loss_gap": bk.to_float(fo.log_loss_gap),
                "log_grad_norm": bk.to_float(fo.log_grad_norm), "selected": np.asarray(fo.selected)}


def _log_mean_softplus(bk: Backend, x: Array) -> Array:
    """log((1/n) sum_i log(1 + e^{x_i})) along the last axis, via log(log1p(e^x)) per term: no underflow when
    every margin is large (x very negative)."""
    n = x.shape[-1]
    return bk.logsumexp(bk.log_log1p_exp(x), axis=-1) - math.log(n)


__all__ = ["JointProblem", "LpMirrorDescent", "bregman_direction", "phi", "phi_inv", "scaled_norm",
           "signed_power"]
