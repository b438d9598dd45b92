"""lp-Att-SVM and lp decoder SVM (theorems/attention/svm_lp.py): certificates, an independent solve of the smooth dual,
closed forms, p = 2 against the l2 solver, metamorphic permutations, infeasibility and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import theorems.attention.svm_lp as svm_lp
from theorems.attention.strategies import generate
from theorems.attention.svm import att_svm_constraints, solve_att_svm
from theorems.attention.svm_lp import (
    decoder_rows,
    solve_lp_att_svm,
    solve_lp_decoder_svm,
    solve_lp_smooth_dual,
)
from verify.cli import main
from verify.errors import InfeasibleProblemError, VerifyInputError
from verify.instance import atomic_write_text, dumps

P_ALL = (1.1, 1.25, 1.75, 3.0, 5.0)


def _inst(kind: str = "orthonormal", seed: int = 0):  # type: ignore[no-untyped-def]
    if kind == "orthonormal":
        return generate(3, 3, 10, seed, "orthonormal", noise=0.1)
    return generate(3, 3, 5, seed, "gaussian-low-d")


@pytest.mark.parametrize(("p", "kind"), [(p, "gaussian") for p in P_ALL] + [(1.1, "orthonormal"), (5.0, "orthonormal")])
def test_certified_with_tiny_residuals(p: float, kind: str) -> None:
    inst = _inst(kind)
    sol = solve_lp_att_svm(inst.X, inst.z, [0, 1, 2], p)
    assert sol.certified, sol.note
    # tol = (m + N) 10^(-dps/2) with dps = 40: (6 + 100) 1e-20 ~ 1e-18; every residual must be below it.
    tol = (6 + 100) * 1e-20
    assert sol.max_constraint_violation <= tol
    assert sol.complementary_slackness <= tol * max(sol.multipliers.values())
    assert abs(sol.duality_gap) <= tol * sol.norm**p
    assert min(sol.multipliers.values()) >= 0
    A, _ = att_svm_constraints(inst.X, inst.z, [0, 1, 2])
    margins = A @ sol.W.ravel()
    assert margins.min() >= 1 - 1e-14  # float64 rounding of the certified W (relative 1e-16, times ||A|| ||W||)
    assert sol.support  # a max-margin solution has at least one tight constraint


@pytest.mark.parametrize(("p", "kind"), [(1.25, "gaussian"), (1.5, "orthonormal"), (3.0, "gaussian"),
                                         (4.0, "orthonormal")])
def test_agrees_with_independent_smooth_dual(p: float, kind: str) -> None:
    """Independent solve: L-BFGS-B on the smooth dual (no cvxpy, no Newton, float64). Measured agreement is
    1e-12 .. 4e-7 relative; w = grad psi*(A^T mu) is only Hoelder-(q-1) in mu for q < 2 (p > 2), so a dual
    accurate to ~1e-10 gives w to ~1e-10^(q-1) ~ 1e-6 at p = 4. The tolerance 1e-5 keeps a margin of 25x over
    the worst measured case; a wrong certificate (wrong support, wrong map) is off by O(1)."""
    inst = _inst(kind, seed=3)
    alpha = [0, 1, 2]
    sol = solve_lp_att_svm(inst.X, inst.z, alpha, p)
    assert sol.certified
    A, _ = att_svm_constraints(inst.X, inst.z, alpha)
    w, mu = solve_lp_smooth_dual(A, p)
    rel = np.abs(w - sol.W.ravel()).max() / np.abs(sol.W).max()
    assert rel <= 1e-5, rel


def test_p2_agrees_with_the_l2_solver() -> None:
    inst = _inst("gaussian", seed=5)
    a = solve_lp_att_svm(inst.X, inst.z, [0, 0, 0], 2.0)
    b = solve_att_svm(inst.X, inst.z, [0, 0, 0])
    assert a.certified and b.certified
    # two independent certificates at 1e-20, rounded to float64: agreement to a few ulps of max|W|
    assert np.abs(a.W - b.W).max() <= 1e-13 * np.abs(b.W).max()
    assert a.support == b.support


@pytest.mark.parametrize("p", [1.1, 1.5, 3.0, 5.0])
def test_single_constraint_closed_form(p: float) -> None:
    """One row a: w = grad psi*(mu a) with mu a_k-scaled so that <a, w> = 1: w = sign(a)|a|^{q-1} / ||a||_q^q."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1, 2, 3))
    Z = rng.normal(size=(1, 3))
    sol = solve_lp_att_svm(X, Z, [0], p)
    a = np.outer(X[0, 0] - X[0, 1], Z[0]).ravel()
    q = p / (p - 1)
    w = np.sign(a) * np.abs(a) ** (q - 1) / np.sum(np.abs(a) ** q)
    assert sol.certified
    assert np.allclose(sol.W.ravel(), w, rtol=1e-12, atol=1e-15 * np.abs(w).max())  # float64 closed form


def test_decoder_svm_degenerate_duplicated_rows() -> None:
    """DM: every row y_i x_{i,0} equals mu, so the multipliers are not unique (dependent rows); the certificate
    drops dependent rows and still certifies; u = grad psi*(mu)/||mu||_q^q."""
    rng = np.random.default_rng(2)
    mu = rng.normal(size=5)
    y = np.array([1.0, -1.0, 1.0])
    X = rng.normal(size=(3, 2, 5))
    X[:, 0, :] = y[:, None] * mu
    for p in (1.25, 3.0):
        sol = solve_lp_decoder_svm(X, y, [0, 0, 0], p)
        q = p / (p - 1)
        u = np.sign(mu) * np.abs(mu) ** (q - 1) / np.sum(np.abs(mu) ** q)
        assert sol.certified, sol.note
        assert np.allclose(sol.W, u, rtol=1e-12, atol=0)
        assert sol.support == (0, 1, 2)
    assert np.array_equal(decoder_rows(X, y, [0, 0, 0]), np.tile(mu, (3, 1)))


@pytest.mark.parametrize("p", [1.5, 3.0])
def test_permuting_tokens_and_sequences_permutes_the_answer(p: float) -> None:
    inst = _inst("gaussian", seed=7)
    alpha = (0, 1, 2)
    base = solve_lp_att_svm(inst.X, inst.z, alpha, p)
    # tokens within each sequence (z kept): same constraint set, so the same W; support relabelled
    perm = np.array([2, 0, 1])  # new token k is old token perm[k]
    inv = np.argsort(perm)
    Xp = inst.X[:, perm, :]
    sol_t = solve_lp_att_svm(Xp, inst.z, [int(inv[a]) for a in alpha], p)
    assert np.abs(sol_t.W - base.W).max() <= 1e-13 * np.abs(base.W).max()
    assert sorted((i, int(perm[t])) for i, t in sol_t.support) == sorted(base.support)
    # sequences: the same constraints in another order
    sp = np.array([1, 2, 0])
    sol_s = solve_lp_att_svm(inst.X[sp], inst.z[sp], [alpha[k] for k in sp], p)
    assert np.abs(sol_s.W - base.W).max() <= 1e-13 * np.abs(base.W).max()
    assert sorted((int(sp[i]), t) for i, t in sol_s.support) == sorted(base.support)


def test_infeasible_raises_with_a_farkas_certificate() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4))
    X = np.stack([x, x])
    Z = np.stack([x[0], x[0]])
    with pytest.raises(InfeasibleProblemError, match="infeasible"):
        solve_lp_att_svm(X, Z, [0, 1], 1.5)


@pytest.mark.parametrize("p", [1.0, 0.5, float("nan"), "x", 1e9])
def test_bad_p_is_an_input_error(p: object) -> None:
    inst = _inst()
    with pytest.raises(VerifyInputError, match="p must"):
        solve_lp_att_svm(inst.X, inst.z, [0, 0, 0], p)  # type: ignore[arg-type]


def test_failed_polish_falls_back_to_uncertified(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svm_lp, "_newton", lambda *a, **k: None)
    inst = _inst()
    sol = solve_lp_att_svm(inst.X, inst.z, [0, 0, 0], 1.5)
    assert not sol.certified and not sol.confirmed and sol.status == "optimal_inaccurate"
    assert "NOT confirmed" in sol.note and "not certified" in sol.note
    # the solver's own point still gives valid exact bounds, far too loose to count as rigorous
    assert sol.proof.kind == "none" and sol.proof.rel_gap is not None and sol.proof.rel_gap > 1e-12


def test_cli_svm_with_p(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    inst = _inst()
    f = tmp_path / "inst.json"
    atomic_write_text(f, dumps(inst.to_json()))
    assert main(["svm", "--instance", str(f), "--p", "1.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["p"] == 1.5 and out["certified"] is True and out["locally_optimal"] == "optimal"
    assert out["certificate"] == "rigorous" and out["confirmed"] is True
    lo, hi = (float(v) for v in out["norm_interval"])
    assert lo <= out["norm"] <= hi and (hi - lo) <= 1e-15 * hi and float(out["distance_bound"]) < 1e-12
    assert main(["svm", "--instance", str(f), "--p", "0.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert main(["svm", "--instance", str(f), "--p", "2", "--json"]) == 0  # p = 2: the l2 solver's output
    assert "locally_optimal" in json.loads(capsys.readouterr().out)
