"""The attention classifier's shrinking moves (:attr:`verify.model.Model.shrink`, :mod:`verify.shrink`).

:func:`moves` lists candidate smaller instances of an :class:`~theorems.attention.classifier.AttentionInstance`;
the engine tries them in this order (largest reduction first: a sequence, then the free change of basis,
then a token, a coordinate, digits) and accepts one only when the smaller instance meets
the claim's assumptions and its violation is confirmed again. The moves:

- ``keep-sequence`` (n > 2): keep sequence i alone; n -> 1;
- ``drop-sequence``: remove sequence i (its tokens, label and query); n -> n - 1;
- ``span``: rewrite the instance in an orthonormal basis of the span of its tokens and queries (Gram-Schmidt in
  token order, so the coordinates are triangular, and orthonormal tokens become +-e_j); u and W0 are projected
  onto that span. Every score x^T u, logit x^T W z and Gram entry is unchanged when u and W0 lie in the span;
  d -> rank;
- ``keep-tokens`` (T > 3): keep only each sequence's query token and optimal token; T -> 2;
- ``drop-token``: remove one non-optimal token from every sequence (all sequences have T tokens), never the
  optimal token nor the token the query was taken from; T -> T - 1.
  The sequence and token moves are followed by ``span`` when what is left spans fewer dimensions;
- ``drop-dimension``: delete coordinate j (project onto a coordinate subspace), the lowest-energy first;
  d -> d - 1;
- ``round``: round every number to k decimals, fewest first (k = 0, 1, 2, 3, 4, 6).

Each result records in ``meta`` its sizes ``n``, ``T``, ``d``, the original instance's meta (``shrunk_from``) and the
moves applied so far.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from theorems.attention import classifier as ac
from verify.shrink import Move

ROUND_DECIMALS = (0, 1, 2, 3, 4, 6)
SPAN_TOL = 1e-10


def _make(inst: ac.AttentionInstance, name: str, X: np.ndarray, y: np.ndarray, u: np.ndarray, z: np.ndarray,
          W0: np.ndarray) -> ac.AttentionInstance:
    n, T, d = X.shape  # the sizes, as a generator's meta records them (the report pages show them side by side)
    meta = {"n": int(n), "T": int(T), "d": int(d), "shrunk_from": inst.meta.get("shrunk_from", inst.meta),
            "moves": [*inst.meta.get("moves", []), name]}
    # + 0.0 turns the -0.0 that rounding and projecting leave into 0.0 (same numbers, plainer JSON)
    return ac.make_instance(X + 0.0, y, u + 0.0, z + 0.0, W0 + 0.0, meta)


def _query_tokens(inst: ac.AttentionInstance) -> np.ndarray:
    """Per sequence, the index of the token equal to its query (-1 when the query is no token)."""
    scale = max(float(np.abs(inst.X).max()), 1e-300)
    eq = np.all(np.abs(inst.X - inst.z[:, None, :]) <= 1e-12 * scale, axis=2)
    return np.where(eq.any(axis=1), np.argmax(eq, axis=1), -1)


def _spanned(inst: ac.AttentionInstance, name: str, detail: str, X: np.ndarray, y: np.ndarray, u: np.ndarray,
             z: np.ndarray, W0: np.ndarray) -> Move:
    """A move, followed by ``span`` when the remaining tokens and queries span fewer than d dimensions."""
    d = X.shape[2]
    Q = _span_basis(np.concatenate([X.reshape(-1, d), z]))
    if 0 < Q.shape[1] < d:
        X, u, z, W0 = X @ Q, Q.T @ u, z @ Q, Q.T @ W0 @ Q
        detail += f", then rewrite in the span (d {d} -> {Q.shape[1]})"
    return Move(name, detail, _make(inst, name, X, y, u, z, W0))


def moves(inst: ac.AttentionInstance) -> Iterator[Move]:
    n, T, d = inst.n, inst.T, inst.d
    X, y, u, z, W0 = inst.X, inst.y, inst.u, inst.z, inst.W0
    if n > 2:
        for i in range(n):
            yield _spanned(inst, "keep-sequence", f"keep only sequence {i} (n {n} -> 1)", X[[i]], y[[i]], u,
                           z[[i]], W0)
    if n > 1:
        for i in range(n - 1, -1, -1):
            keep = [k for k in range(n) if k != i]
            yield _spanned(inst, "drop-sequence", f"drop sequence {i} (n {n} -> {n - 1})", X[keep], y[keep], u,
                           z[keep], W0)
    Q = _span_basis(np.concatenate([X.reshape(n * T, d), z]))
    if 0 < Q.shape[1] < d:
        r = Q.shape[1]
        yield Move("span", f"rewrite in an orthonormal basis of the tokens' and queries' span (d {d} -> {r})",
                   _make(inst, "span", X @ Q, y, Q.T @ u, z @ Q, Q.T @ W0 @ Q))
    if T > 2:
        g = ac.token_scores(inst)
        opt = np.argmax(g, axis=1)
        query = _query_tokens(inst)
        # per sequence, the droppable tokens from the lowest score up
        order = [[int(t) for t in np.argsort(g[i]) if t != opt[i] and t != query[i]] for i in range(n)]
        if T > 3 and all(query >= 0) and all(query != opt):  # keep only the query and the optimal token
            Xn = np.stack([X[i, sorted((int(query[i]), int(opt[i])))] for i in range(n)])
            yield _spanned(inst, "keep-tokens", f"keep only each sequence's query and optimal token (T {T} -> 2)",
                           Xn, y, u, z, W0)
        for rank in range(min(len(o) for o in order)):
            drop = [o[rank] for o in order]
            Xn = np.stack([np.delete(X[i], drop[i], axis=0) for i in range(n)])
            yield _spanned(inst, "drop-token", f"drop token {drop} (rank {rank + 1} from the lowest score among "
                           f"the droppable ones of each sequence; T {T} -> {T - 1})", Xn, y, u, z, W0)
    if d > 1:
        energy = (X ** 2).sum(axis=(0, 1)) + (z ** 2).sum(axis=0) + u ** 2 + (W0 ** 2).sum(axis=0)
        for j in np.argsort(energy, kind="stable"):
            keep = [k for k in range(d) if k != j]
            yield Move("drop-dimension", f"delete coordinate {int(j)} (d {d} -> {d - 1})",
                       _make(inst, "drop-dimension", X[:, :, keep], y, u[keep], z[:, keep],
                             W0[np.ix_(keep, keep)]))
    for k in ROUND_DECIMALS:
        yield Move("round", f"round every number to {k} decimals",
                   _make(inst, "round", np.round(X, k), y, np.round(u, k), np.round(z, k), np.round(W0, k)))


def _span_basis(rows: np.ndarray) -> np.ndarray:
    """An orthonormal basis (d x r) of the span of ``rows``, by Gram-Schmidt in row order (twice, for
    stability)."""
    scale = max(float(np.abs(rows).max()), 1e-300)
    basis: list[np.ndarray] = []
    for v in rows:
        w = v.astype(float).copy()
        for _ in range(2):
            for b in basis:
                w -= (b @ w) * b
        nw = float(np.linalg.norm(w))
        if nw > SPAN_TOL * max(scale, float(np.linalg.norm(v))):
            basis.append(w / nw)
    return np.stack(basis, axis=1) if basis else np.zeros((rows.shape[1], 0))
