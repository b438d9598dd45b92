"""Joint training of the attention classifier on (u, W) (docs/catalogue.md, Part A; VDT24 joint claims, PRIOR).

Parameters are the tuple (u, W), batched: u (B, d), W (B, d, d) (dense; the scores g = y u^T x change with u).

    L(u, W) = (1/n) sum_i l(y_i f_i),   f_i = u^T X_i^T s_i(W),   L* = 0 (the infimum; never attained)   [derived]
    grad_W L = (1/n) sum_i l'(gbar_i) sum_{t != r_i} s_{i,t} (g_{i,t} - gbar_i) (x_{i,t} - x_{i,r_i}) z_i^T  [derived]
    grad_u L = (1/n) sum_i l'(gbar_i) y_i X_i^T s_i                                                     [derived]

with gbar_i = y_i f_i, l'(m) = -sigmoid(-m) = -exp(-softplus(m)). At u = 0 every g_{i,t} is exactly 0, so
grad_W L = 0 exactly and W does not move until u does [derived].

Numerics (docs/design.md): logits are taken relative to the top token r_i; the small weights s_{i,t}, t != r_i, are
e^{m_i} * s_hat; both gradient blocks are carried with their own log scale (log |l'_i| = -softplus(gbar_i) is
never exponentiated on its own), so nothing underflows however saturated the softmax or however small the
loss. log L = logsumexp_i log softplus(-gbar_i) - log n, with log softplus(x) = log(log1p(e^x)) computed by
the backend's ``log_log1p_exp`` (exact to rounding for L far below float64's range).

The instance's decoder u is the *reference* decoder: it defines opt_i = argmax_t y_i u^T x_{i,t}, hence W_mm
(the Att-SVM of opt) and u_mm (the decoder SVM of the opt tokens). Joint training itself starts at (u0, W0)
with u0 = 0 unless stated otherwise.

The data model DM [seed, recon]: x_{i,1} = y_i mu (the signal token; index 0 here), the other tokens
N(0, sigma^2 I), z_i = x_{i,1} (self-attention), d large relative to n T; parameters (n, T, d, sigma, ||mu||).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from theorems.attention import classifier as ac
from verify.backends import Array, Backend, isfinite
from verify.errors import VerifyInputError

_take = ac._take


class JointKernel(NamedTuple):
    """Log-scaled gradient blocks and loss of the joint problem (batched over B).

    grad_W L = e^{log_scale_W} * sum G_hat_{i,t} x_{i,t} z_i^T; grad_u L = e^{log_scale_u} * gu_hat."""

    G_hat: Array  # (B, n, T)
    log_scale_W: Array  # (B,)
    gu_hat: Array  # (B, d)
    log_scale_u: Array  # (B,)
    cu_hat: Array  # (B, n) coefficients of X_i^T s_i in gu_hat
    s: Array  # (B, n, T) attention
    loss: Array  # (B,)
    log_loss: Array  # (B,)
    log_max_nonopt: Array | None  # (B,) log max_i (1 - s_{i,opt_i}) for the reference opt (None without one)
    selected: np.ndarray  # (B, n)


def joint_kernel(bk: Backend, a: Array, g: Array, y: Array, X: Array, opt: np.ndarray | None = None) -> JointKernel:
    """Everything a joint step needs, from logits ``a`` and scores ``g`` (both (B, n, T)); with the reference
    optimal tokens ``opt`` (B, n) also the attention off them (this module's problem; lp mirror descent's joint
    problem, theorems.attention.lp, has no reference and reads the rest)."""
    B, n, T = a.shape
    r = np.argmax(a, axis=-1)
    nonref = np.arange(T)[None, None, :] != r[..., None]
    delta = a - _take(a, r)[..., None]
    ninf = bk.asarray(-math.inf)
    mx = bk.xp.max if bk.name == "arb" else np.max  # balls: a rigorous maximum; shifts take its exact midpoint
    m = bk.shift_of(mx(np.where(nonref, delta, ninf), axis=-1))
    w = np.where(nonref, bk.exp(np.where(nonref, delta - m[..., None], 0)), 0)
    log_S = m + bk.log(np.sum(w, axis=-1))
    log_1pS = bk.softplus(log_S)
    s_hat = w * bk.exp(-log_1pS)[..., None]
    e_m = bk.exp(m)
    s = np.where(nonref, e_m[..., None] * s_hat, bk.exp(-log_1pS)[..., None])  # full softmax (for grad_u)
    g_r = _take(g, r)
    dg = g - g_r[..., None]
    D_hat = np.sum(s_hat * dg, axis=-1)
    gbar = g_r + e_m * D_hat
    log_lp = -bk.softplus(gbar)  # log |l'(gbar_i)|
    # W block: coefficient_i = -e^{log_lp_i + m_i} / n, scaled by its max over i.
    lw = log_lp + m
    MW = bk.shift_of(mx(lw, axis=-1))
    coef = -bk.exp(lw - MW[:, None]) / n
    G_nonref = coef[..., None] * s_hat * (dg - (e_m * D_hat)[..., None])
    G_hat = np.where(~nonref, -np.sum(G_nonref, axis=-1)[..., None], G_nonref)
    # u block: (1/n) sum_i l'_i y_i X_i^T s_i = e^{Mu} sum_i cu_hat_i X_i^T s_i.
    Mu = bk.shift_of(mx(log_lp, axis=-1))
    cu_hat = -y * bk.exp(log_lp - Mu[:, None]) / n
    gu_hat = np.matmul((cu_hat[..., None] * s).reshape(B, 1, n * T), X.reshape(B, n * T, -1))[:, 0, :]
    loss = np.mean(bk.softplus(-gbar), axis=-1)
    log_loss = bk.logsumexp(bk.log_log1p_exp(-gbar), axis=-1) - math.log(n)
    if opt is None:
        return JointKernel(G_hat, MW, gu_hat, Mu, cu_hat, s, loss, log_loss, None, r)
    at_opt = r == opt
    s_opt_other = bk.exp(np.where(at_opt, -1, _take(delta, opt) - log_1pS))
    log_nonopt_i = np.where(at_opt, log_S - log_1pS, bk.log1p(-s_opt_other))
    return JointKernel(G_hat, MW, gu_hat, Mu, cu_hat, s, loss, log_loss, mx(log_nonopt_i, axis=-1), r)


class JointFirstOrder(NamedTuple):
    """First order of the joint problem. ``unit_grad`` is the tuple (u-part, W-part) of grad/||grad|| over the
    concatenated gradient; ``block_unit_grad`` normalizes each block alone (a zero block stays zero);
    ``log_loss_gap`` is log(L - L*) = log L."""

    unit_grad: tuple[Array, Array]
    log_grad_norm: Array
    log_loss_gap: Array
    rel_error: np.ndarray
    block_unit_grad: tuple[Array, Array]
    block_log_grad_norm: tuple[Array, Array]
    kernel: JointKernel


def _log_norm(bk: Backend, sq: Array) -> tuple[Array, Array]:
    """(sqrt(sq) with 1 where sq = 0, log sqrt(sq) with -inf where sq = 0)."""
    pos = sq > 0
    nrm = bk.sqrt(np.where(pos, sq, 1))
    return nrm, np.where(pos, bk.log(nrm), bk.asarray(-math.inf))


@dataclass(frozen=True)
class JointProblem:
    """min_{u, W} L(u, W) on a batch (dense W), in one backend; implements verify.trajectory.Problem."""

    bk: Backend
    X: Array  # (B, n, T, d)
    Z: Array  # (B, n, d)
    y: Array  # (B, n)
    u0: Array  # (B, d)
    W0: Array  # (B, d, d)
    opt: np.ndarray  # (B, n) reference optimal tokens
    norms: Array  # (B, n, T) ||x_{i,t}|| ||z_i||

    def init(self) -> tuple[Array, Array]:
        return self.u0.copy(), self.W0.copy()

    def first_order(self, state: tuple[Array, Array]) -> JointFirstOrder:
        bk = self.bk
        u, W = state
        a = ac.dense_logits(self.X, self.Z, W)
        g = self.y[:, :, None] * np.einsum("bntd,bd->bnt", self.X, u)
        k = joint_kernel(bk, a, g, self.y, self.X, self.opt)
        GW = ac.rank_one_sum(k.G_hat, self.X, self.Z)
        nW, lW = _log_norm(bk, np.sum(GW * GW, axis=(1, 2)))
        nu, lu = _log_norm(bk, np.sum(k.gu_hat * k.gu_hat, axis=1))
        log_W, log_u = k.log_scale_W + lW, k.log_scale_u + lu
        top = np.maximum(log_W, log_u)
        top0 = np.where(isfinite(top), top, 0)
        log_total = top0 + 0.5 * bk.log(bk.exp(2 * (log_W - top0)) + bk.exp(2 * (log_u - top0)))
        log_total = np.where(isfinite(top), log_total, bk.asarray(-math.inf))
        lt0 = np.where(isfinite(log_total), log_total, 0)
        unit = (k.gu_hat * bk.exp(k.log_scale_u - lt0)[:, None],
                GW * bk.exp(k.log_scale_W - lt0)[:, None, None])
        block = (k.gu_hat / nu[:, None], GW / nW[:, None, None])
        # Relative error of the direction (first order; as in the fixed-decoder problem): cancellation ratio
        # rho times the per-term error, per block; an exactly zero block (u = 0: g = 0 exactly) is exact.
        n, T, d = self.X.shape[1], self.X.shape[2], self.X.shape[3]
        logit_err = bk.eps * d * np.max(self.norms, axis=(1, 2)) * bk.sqrt(np.sum(W * W, axis=(1, 2)))
        rho_W = np.sum(abs(k.G_hat) * self.norms, axis=(1, 2)) / nW
        Xs = np.matmul(k.s[:, :, None, :], self.X)[:, :, 0, :]
        rho_u = np.sum(abs(k.cu_hat) * bk.sqrt(np.sum(Xs * Xs, axis=2)), axis=1) / nu
        rel_W = np.where(isfinite(lW), rho_W * (2 * logit_err + (n * T + 8) * bk.eps), 0)
        rel_u = np.where(isfinite(lu), rho_u * (2 * logit_err + (T + d + 8) * bk.eps), 0)
        rel = np.where(isfinite(log_total), np.maximum(rel_W, rel_u), np.inf)
        if bk.name == "arb":  # balls carry their own error: the watch reads their widths (verify.arb.rel_width)
            from verify.arb import rel_width

            widths = np.max(np.stack([rel_width(v) for v in (*unit, u, W)]), axis=0)
            return JointFirstOrder(unit, log_total, k.log_loss, np.where(isfinite(log_total), widths, np.inf),
                                   block, (log_u, log_W), k)
        return JointFirstOrder(unit, log_total, k.log_loss, bk.to_float(rel), block, (log_u, log_W), k)

    def observe(self, state: tuple[Array, Array], fo: JointFirstOrder) -> dict[str, np.ndarray]:
        """Float64 metrics. ``W`` is the whole parameter vector (u, vec W), which the runner watches for a
        stuck iterate (at u = 0 W alone legitimately does not move); ``Wmat`` and ``u`` are the blocks."""
        bk, k = self.bk, fo.kernel
        u, W = bk.to_float(state[0]), bk.to_float(state[1])
        B = u.shape[0]
        balls: dict[str, np.ndarray] = {}
        if bk.name == "arb":  # the balls themselves, and log10 of their radii for the checkpoint watch
            from verify.arb import RAD_SUFFIX, log10_radius

            flat = np.concatenate([state[0], state[1].reshape(B, -1)], axis=1)
            balls = {"W_ball": state[1], "u_ball": state[0], "W" + RAD_SUFFIX: log10_radius(flat)}
        return balls | {
            "W": np.concatenate([u, W.reshape(B, -1)], axis=1),
            "Wmat": W,
            "u": u,
            "norm": np.linalg.norm(W, axis=(1, 2)),
            "u_norm": np.linalg.norm(u, axis=1),
            "loss": bk.to_float(k.loss),
            "log_loss": bk.to_float(k.log_loss),
            "log_max_nonopt": bk.to_float(k.log_max_nonopt),
            "log_grad_norm": bk.to_float(fo.log_grad_norm),
            "selected": np.asarray(k.selected),
        }


def build_joint_problem(bk: Backend, instances: list[ac.AttentionInstance],
                        u0: np.ndarray | None = None) -> JointProblem:
    """Joint problem for a batch; u0 (B, d) defaults to 0, W0 is each instance's W0."""
    batch = ac.stack(instances)
    B, n, T, d = batch.shape
    u0 = np.zeros((B, d)) if u0 is None else np.asarray(u0, dtype=float).reshape(B, d)
    norms = np.linalg.norm(batch.X, axis=3) * np.linalg.norm(batch.Z, axis=2)[:, :, None]
    return JointProblem(bk, bk.asarray(batch.X), bk.asarray(batch.Z), bk.asarray(batch.y), bk.asarray(u0),
                        bk.asarray(batch.W0), batch.opt, bk.asarray(norms))


def u_direction_error(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """|| u/||u|| - v/||v|| || (computed from the difference; nan where u = 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        un = u / np.linalg.norm(u, axis=-1, keepdims=True)
    return np.linalg.norm(un - target / np.linalg.norm(target), axis=-1)


# ---------------------------------------------------------------------------------------------- data model
DM_DEFAULTS = {"sigma": 0.1, "mu_norm": 1.0}


def generate_dm(n: int, T: int, d: int, seed: int, sigma: float = 0.1, mu_norm: float = 1.0,
                init_scale: float = 0.0) -> ac.AttentionInstance:
    """A draw of the data model DM: x_{i,0} = y_i mu with ||mu|| = mu_norm, other tokens N(0, sigma^2 I),
    z_i = x_{i,0}, reference decoder u = mu/||mu|| (so opt_i = 0 when the signal dominates), W0 =
    init_scale * N(0, I/d^2). Raises VerifyInputError on invalid parameters; whether the draw meets DM's
    predicates is checked by the ``data_model`` and ``score_gap`` assumptions (the strategies filter on them)."""
    if min(n, d) < 1 or T < 2 or sigma < 0 or mu_norm <= 0:
        raise VerifyInputError(f"DM needs n, d >= 1, T >= 2, sigma >= 0, ||mu|| > 0; got {(n, T, d, sigma, mu_norm)}")
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=d)
    mu *= mu_norm / np.linalg.norm(mu)
    y = rng.choice([-1.0, 1.0], size=n)
    X = sigma * rng.normal(size=(n, T, d))
    X[:, 0, :] = y[:, None] * mu[None, :]
    W0 = init_scale * rng.normal(size=(d, d)) / d if init_scale > 0 else np.zeros((d, d))
    meta = {"generator": "theorems.attention.joint.generate_dm", "n": n, "T": T, "d": d, "seed": seed,
            "sigma": sigma, "mu_norm": mu_norm, "init_scale": init_scale}
    return ac.make_instance(X, y, mu / mu_norm, None, W0, meta)


def dm_structure_residual(inst: ac.AttentionInstance) -> float:
    """max_i ||x_{i,0} - y_i mu_hat|| / ||mu_hat|| with mu_hat = mean_i y_i x_{i,0}: 0 for a DM draw."""
    sig = inst.y[:, None] * inst.X[:, 0, :]
    mu = sig.mean(axis=0)
    nm = float(np.linalg.norm(mu))
    return float(np.max(np.linalg.norm(sig - mu, axis=1)) / nm) if nm > 0 else math.inf
