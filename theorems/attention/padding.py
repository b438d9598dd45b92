"""Instances of different shapes in one float64 Gram batch, and each instance's slice of its run.

A batch of instances b with n_b sequences of T_b tokens in d_b dimensions is laid out as (B, n, T) with
n = max n_b and T = max T_b. Within instance b:

- sequence i < n_b is its own; a sequence i >= n_b is a copy of its sequence 0 with weight 0: its logits, scores
  and optimal token are sequence 0's, so every per-sequence quantity stays finite and valid, and the weight
  removes it from the loss (sum_i w_i l_i / n_b), from the gradient coefficients (l'_i e^{m_i - M} w_i / n_b) and
  from the loss gap (log w_i = -inf in its log-sum-exp); maxima over sequences (the log scale M, the largest
  non-optimal attention) are unchanged by a copy;
- token t >= T_b has logit -inf (a0 = -inf, a zero row and column of K) and score 0: its softmax weight and its
  gradient coefficient are exactly 0, so its coefficient c stays 0;
- d does not enter a Gram step: K comes from the instance's own Gram build (the same entries as its single run),
  and W is rebuilt from the instance's own data when a claim reads it (:func:`instance_slice`).

The precision watch keeps each instance's own nT and max |a0| (:class:`Padding`). A padded run's values agree with
the instance's single run to rounding (the mat-vecs K c and c^T K c add zeros in another order), not bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from theorems.attention import classifier as ac
from verify.backends import Backend
from verify.trajectory import Records, Trajectory

PAD_FLOOR = 32
"""Instances are padded together while the padded nT stays within max(PAD_FLOOR, 2 x each one's own nT): at a
few dozen coefficients a step costs its array calls, not its arithmetic, so padding a small instance is free."""


@dataclass(frozen=True)
class Padding:
    """Per instance of a padded batch: n_b, the sequence weights w (1 for its own sequences, 0 for the copies),
    log w, log n_b, n_b T_b (the precision watch's nT), and n_b per row (the step kernel's flattened rows)."""

    n: np.ndarray  # (B,) float
    weight: np.ndarray  # (B, n) float, 1.0 or 0.0
    log_weight: np.ndarray  # (B, n) float, 0.0 or -inf
    log_n: np.ndarray  # (B,) math.log(n_b), as a single run's log n
    size: np.ndarray  # (B,) float n_b T_b
    rows: np.ndarray  # (B n,) float: n_b repeated per sequence row

    @staticmethod
    def of(instances: list[ac.AttentionInstance], n: int) -> Padding:
        """The padding of ``instances`` laid out with ``n`` sequences each."""
        nb = np.array([i.n for i in instances], dtype=float)
        weight = (np.arange(n)[None, :] < nb[:, None]).astype(float)
        with np.errstate(divide="ignore"):
            log_weight = np.log(weight)
        return Padding(nb, weight, log_weight, np.array([math.log(i.n) for i in instances]),
                       np.array([i.n * i.T for i in instances], dtype=float), np.repeat(nb, n))


def buckets(shapes: list[tuple[int, int]]) -> list[list[int]]:
    """Indices grouped for padding: by increasing nT, a group grows while max n x max T <= max(PAD_FLOOR,
    2 nT) for each of its members (the smallest decides)."""
    order = sorted(range(len(shapes)), key=lambda k: (shapes[k][0] * shapes[k][1], k))
    groups: list[list[int]] = []
    for k in order:
        if groups:
            g = groups[-1] + [k]
            n, T = max(shapes[j][0] for j in g), max(shapes[j][1] for j in g)
            if n * T <= max(PAD_FLOOR, 2 * min(shapes[j][0] * shapes[j][1] for j in g)):
                groups[-1] = g
                continue
        groups.append([k])
    return [sorted(g) for g in groups]


def build_padded_problem(bk: Backend, instances: list[ac.AttentionInstance]) -> ac.FixedDecoderProblem:
    """The float64 Gram problem of ``instances`` (any shapes) as one padded batch (see the module docstring)."""
    singles = [ac.build_problem(bk, ac.stack([inst]), "gram") for inst in instances]
    B = len(instances)
    n, T, d = (max(getattr(i, a) for i in instances) for a in ("n", "T", "d"))
    K = np.zeros((B, n * T, n * T))
    a0 = np.full((B, n, T), -np.inf)
    g, norms = np.zeros((B, n, T)), np.zeros((B, n, T))
    opt = np.zeros((B, n), dtype=np.asarray(singles[0].opt).dtype)
    X, Z, W0 = np.zeros((B, n, T, d)), np.zeros((B, n, d)), np.zeros((B, d, d))
    a0max = np.zeros(B)
    for b, (inst, p) in enumerate(zip(instances, singles, strict=True)):
        nb, Tb, db = inst.n, inst.T, inst.d
        rep = p.rep
        assert isinstance(rep, ac.Gram)
        src = np.where(np.arange(n) < nb, np.arange(n), 0)  # its own sequences, then copies of sequence 0
        flat = (src[:, None] * Tb + np.arange(Tb)[None, :]).reshape(-1)  # source coefficient of (i, t < T_b)
        into = (np.arange(n)[:, None] * T + np.arange(Tb)[None, :]).reshape(-1)
        K[b][np.ix_(into, into)] = rep.K[0][np.ix_(flat, flat)]
        a0[b, :, :Tb] = rep.a0[0][src]
        g[b, :, :Tb] = p.g[0][src]
        norms[b, :, :Tb] = p.norms[0][src]
        opt[b] = np.asarray(p.opt)[0][src]
        X[b, :, :Tb, :db] = inst.X[src]
        Z[b, :, :db] = inst.z[src]
        W0[b, :db, :db] = inst.W0
        a0max[b] = rep._cache["a0max"][0]
    pad = Padding.of(instances, n)
    gram = ac.Gram(X, Z, W0, K, a0, absK=np.abs(K), size=pad.size)
    gram._cache["a0max"] = a0max
    gram._cache["carry"] = None  # never carried: the carry's bounds assume one nT per batch
    host = ac.Batch(X=X, Z=Z, y=np.ones((B, n)), u=np.zeros((B, d)), g=g, opt=opt, W0=W0)
    return ac.FixedDecoderProblem(bk, gram, g, opt, norms, norms, host, pad=pad)


def instance_slice(tr: Trajectory, b: int, inst: ac.AttentionInstance) -> Trajectory:
    """Instance ``b`` of a padded run as its own single run would record it: c (L, 1, n_b, T_b), the selected tokens
    of its n_b sequences, W and ||W|| rebuilt from its own (unpadded) data, its precision flags and notes."""
    one = tr.take(b)
    assert isinstance(one.records, Records)
    stored = one.records.stored()
    for k, v in stored.items():
        if k == "c":
            stored[k] = np.ascontiguousarray(v[:, :, :inst.n, :inst.T])
        elif k == "selected":
            stored[k] = np.ascontiguousarray(v[:, :, :inst.n])
    own = ac.stack([inst])
    m = ac.GramMatrices(own.X, own.Z, own.W0)
    return replace(one, records=Records(stored, {"W": m, "norm": ac.GramNorms(m)}))
