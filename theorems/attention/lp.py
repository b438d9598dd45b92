"""lp mirror descent on the attention classifier (JTA24, docs/catalogue.md Part A), on the dense representation.

The method itself is generic and lives in the methods layer: ``verify.methods.lp_mirror_descent`` (the mirror map
phi(W) = sign(W)|W|^{p-1} of psi = (1/p)||W||_p^p, its inverse, the q-normalized gradient, and the estimate of
each step's rounding error that the trajectory runner watches); ``make_method("lp-md", p=..., eta=...)`` builds it
from the methods table. This module supplies the attention side: the problems whose gradients it follows (the
fixed-decoder problem on the dense representation, and the joint problem on (W, u)) and the directional Bregman
divergence the JTA24 claims measure.

The joint problem on (W, u) (``JointProblem``) uses the joint kernel (``theorems.attention.joint.joint_kernel``):
l'(m) = -sigmoid(-m) underflows once the margin passes 745, which joint training reaches; there every sequence's
coefficient is carried as a log (log|l'(gbar_i)| + m_i) and the gradient as a log scale times a direction, per
block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.joint import joint_kernel
from verify.backends import Array, Backend
from verify.errors import VerifyInputError
from verify.methods import lp_mirror_descent, phi, phi_inv, scaled_norm, signed_power

LpMirrorDescent = lp_mirror_descent
"""The former name of the method (``LpMirrorDescent(p, eta, normalized, blockwise)``), kept for scripts."""

_LOG_MAX = 700.0  # exp(700) ~ 1e304: a magnitude above this is not representable with headroom in float64


# ------------------------------------------------------------------------------------------ lp directions
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


# ------------------------------------------------------------------------------------- fixed-decoder run
def fixed_decoder_problem(bk: Backend, inst: ac.AttentionInstance) -> ac.FixedDecoderProblem:
    """The fixed-decoder problem on the dense representation (W itself; mirror steps leave the Gram span)."""
    if ac.score_gaps(inst).min() <= 0:
        raise VerifyInputError("the optimal token is not unique (tied token scores): L* is undefined")
    return ac.build_problem(bk, ac.stack([inst]), "dense")


# ------------------------------------------------------------------------------------------ joint problem
class JointFirstOrder(NamedTuple):
    """First-order data of L(W, u) in the methods layer's convention: ``unit_grad`` is the (W, u) split of the
    concatenated gradient's unit vector and ``log_grad_norm`` its log norm (what the runner watches);
    ``block_unit_grad`` / ``block_log_grad_norm`` normalize each block by its own norm (what lp mirror descent
    reads); ``log_loss_gap`` is log L (L* = 0)."""

    unit_grad: tuple[Array, Array]
    log_grad_norm: Array
    block_unit_grad: tuple[Array, Array]
    block_log_grad_norm: tuple[Array, Array]
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
        # The joint kernel (theorems.attention.joint): both blocks with their own log scales MW and Mu.
        k = joint_kernel(bk, a, g, self.y, self.X)
        GW, MW, gu, Mu = k.G_hat, k.log_scale_W, k.gu_hat, k.log_scale_u
        gW = ac.rank_one_sum(GW, self.X, self.Z)
        nW, nu = bk.sqrt(np.sum(gW * gW, axis=(1, 2))), bk.sqrt(np.sum(gu * gu, axis=1))
        with np.errstate(divide="ignore"):  # a zero block (grad_W at u = 0) has log norm -inf, exactly
            lW = MW + bk.log(nW)
            lu = Mu + bk.log(nu)
        uW = gW / np.where(nW > 0, nW, 1)[:, None, None]
        uu = gu / np.where(nu > 0, nu, 1)[:, None]
        both = np.maximum(lW, lu)
        ltot = both + 0.5 * bk.log(bk.exp(2 * (lW - both)) + bk.exp(2 * (lu - both)))
        log_loss = k.log_loss
        # Relative error of the W direction, as in the fixed-decoder kernel (rho times per-term error).
        Wnorm = bk.sqrt(np.sum(W * W, axis=(1, 2)))
        d = self.X.shape[-1]
        logit_err = bk.eps * d * np.max(self.norms, axis=(1, 2)) * Wnorm
        rho = np.sum(abs(GW) * self.norms, axis=(1, 2)) / np.where(nW > 0, nW, 1)
        # grad_W = 0 exactly at u = 0 [derived] (not a loss of precision); otherwise a vanishing W-gradient is.
        u_zero = np.all(u == 0, axis=-1)
        rel = np.where(nW > 0, rho * (2 * logit_err + (n * T + 8) * bk.eps), np.where(u_zero, 0.0, np.inf))
        loss = bk.exp(log_loss)
        with np.errstate(invalid="ignore"):  # both blocks zero: ltot is not finite, which the runner flags
            cat = (uW * bk.exp(lW - ltot)[:, None, None], uu * bk.exp(lu - ltot)[:, None])
        return JointFirstOrder(unit_grad=cat, log_grad_norm=ltot, block_unit_grad=(uW, uu),
                               block_log_grad_norm=(lW, lu), log_loss_gap=log_loss, rel_error=bk.to_float(rel),
                               loss=loss, selected=np.asarray(k.selected))

    def observe(self, state: tuple[Array, Array], fo: JointFirstOrder) -> dict[str, np.ndarray]:
        bk = self.bk
        W, u = (bk.to_float(v) for v in state)
        return {"W": W, "u": u, "norm": np.linalg.norm(W, axis=(1, 2)), "u_norm": np.linalg.norm(u, axis=1),
                "loss": bk.to_float(fo.loss), "log_loss_gap": bk.to_float(fo.log_loss_gap),
                "log_grad_norm": bk.to_float(fo.log_grad_norm), "selected": np.asarray(fo.selected)}


__all__ = ["JointProblem", "LpMirrorDescent", "bregman_direction", "fixed_decoder_problem", "lp_normalize",
           "phi", "phi_inv", "scaled_norm", "signed_power"]
