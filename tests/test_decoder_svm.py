"""theorems/attention/svm.py: the decoder SVM u_mm = argmin ||u|| s.t. y_i u^T x_{i,opt_i} >= 1, confirmed and certified
like the Att-SVM."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.joint import generate_dm
from theorems.attention.strategies import generate
from theorems.attention.svm import solve_decoder_svm
from verify.errors import InfeasibleProblemError, VerifyInputError


def test_dm_closed_form() -> None:
    """Under DM every selected token is y_i mu, so u_mm = mu/||mu||^2 exactly and every sequence is support."""
    inst = generate_dm(4, 3, 10, seed=1, mu_norm=2.0)
    mu = inst.y[0] * inst.X[0, 0]
    sol = solve_decoder_svm(inst.X, inst.y, ac.optimal_tokens(inst))
    assert sol.certified and sol.status == "optimal" and sol.proof.kind == "rigorous"
    lo, hi = (float(v) for v in sol.proof.norm_interval or ("nan", "nan"))
    assert lo <= 0.5 <= hi  # ||u_mm|| = 1/||mu|| = 1/2 exactly
    np.testing.assert_allclose(sol.u, mu / (mu @ mu), rtol=0, atol=1e-15)  # float64 rounding of an exact answer
    assert sol.norm == pytest.approx(0.5, rel=1e-15) and sol.support == (0, 1, 2, 3)
    assert np.all(sol.certificate.W[:, 1:] == 0)


def test_generic_data_kkt_and_agreement_with_a_direct_solve() -> None:
    inst = generate(6, 3, 5, seed=3, tokens="gaussian")
    opt = ac.optimal_tokens(inst)
    sol = solve_decoder_svm(inst.X, inst.y, opt)
    assert sol.certified
    A = inst.y[:, None] * inst.X[np.arange(6), opt]
    margins = A @ sol.u
    # certified margins: feasible to the certificate's tolerance (~1e-22 at 50 digits, then rounded to float64)
    assert margins.min() >= 1 - 1e-12
    tight = [i for i in range(6) if abs(margins[i] - 1) <= 1e-9]
    assert tuple(tight) == sol.support
    lam = np.array([sol.multipliers[i] for i in range(6)])
    assert lam.min() >= 0 and np.linalg.norm(A.T @ lam - sol.u) <= 1e-12 * np.linalg.norm(sol.u)  # u = A^T lam
    u = cp.Variable(5)
    cp.Problem(cp.Minimize(cp.sum_squares(u)), [A @ u >= 1]).solve(solver=cp.CLARABEL)
    # Clarabel alone is accurate to ~1e-8 relative; the certified answer must sit inside that
    np.testing.assert_allclose(sol.u, u.value, rtol=0, atol=1e-6)


def test_infeasible_and_bad_input() -> None:
    X = np.zeros((2, 2, 3))
    X[0, 0] = X[1, 0] = [1.0, 2.0, 0.0]
    with pytest.raises(InfeasibleProblemError, match="exact Farkas"):  # the same token must score +1 and -1
        solve_decoder_svm(X, np.array([1.0, -1.0]), [0, 0])
    with pytest.raises(VerifyInputError):
        solve_decoder_svm(X, np.array([1.0, 0.5]), [0, 0])
    with pytest.raises(VerifyInputError):
        solve_decoder_svm(X, np.array([1.0, 1.0]), [0, 5])


def test_relaxed_att_svm() -> None:
    """PRIOR's relaxed Att-SVM: with every sequence tight it is the Att-SVM (DM: all sequences are support
    vectors of u_mm); with fewer tight sequences its norm can only drop; both are confirmed by KKT and certified
    exactly."""
    from theorems.attention.svm import solve_att_svm, solve_relaxed_att_svm

    inst = generate_dm(3, 3, 9, seed=1)
    opt = ac.optimal_tokens(inst)
    hard = solve_att_svm(inst.X, inst.z, opt)
    same = solve_relaxed_att_svm(inst.X, inst.z, opt, solve_decoder_svm(inst.X, inst.y, opt).support)
    assert same.certified and np.array_equal(same.W, hard.W)
    g = generate(5, 3, 6, seed=2, tokens="gaussian")
    o = ac.optimal_tokens(g)
    dec = solve_decoder_svm(g.X, g.y, o)
    assert len(dec.support) < g.n  # some sequence is not a support vector of u_mm
    rel = solve_relaxed_att_svm(g.X, g.z, o, dec.support)
    assert rel.certified and rel.proof.kind == "rigorous" and rel.norm < solve_att_svm(g.X, g.z, o).norm
    a = np.einsum("ntd,de,ne->nt", g.X, rel.W, g.z)
    for i in range(g.n):
        need = 1.0 if i in dec.support else 0.0
        # margins certified to ~1e-20 at 50 digits, then W rounded to float64: 1e-12 covers the rounding
        assert min(a[i, o[i]] - a[i, t] for t in range(g.T) if t != o[i]) >= need - 1e-12
    with pytest.raises(VerifyInputError):
        solve_relaxed_att_svm(g.X, g.z, o, [])
