"""The torch backend runs the same kernel as numpy and passes the same agreement checks (CPU in CI).

The agreement checks of tests/test_kernel.py (50-digit finite differences, the saturated loss gap, the
non-optimal attention) are parametrized here over the float64 backends, so numpy and torch meet the *same*
tolerances against the *same* independent mpmath references.
"""

from __future__ import annotations

import math
import sys

import mpmath
import numpy as np
import pytest
from test_kernel import (
    _mp_log_gap,
    _saturating_setup,
    fd_gradient,
    mp_log_max_nonopt,
    mp_matrix,
    small_instance,
)

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify.backends import get_backend, mpmath_backend
from verify.errors import VerifyInputError
from verify.methods import make_rule
from verify.trajectory import run

torch = pytest.importorskip("torch")

FLOAT64 = ["numpy", "torch"]


def kernel_f64(name: str, inst: ac.AttentionInstance, W: np.ndarray) -> ac.KernelOut:
    bk = get_backend(name)
    prob = ac.build_problem(bk, ac.stack([inst]), "dense")
    return ac.softmax_logistic_kernel(bk, prob.rep.logits(bk.asarray(W[None])), prob.g, prob.opt)


def f(x: object) -> float:
    return float(np.asarray(get_backend("torch").to_float(x) if hasattr(x, "device") else x).reshape(-1)[0])


# ------------------------------------------------------------------------------------ backend contract
def test_torch_backend_is_float64_and_picks_its_device() -> None:
    bk = get_backend("torch")
    assert bk.name == "torch" and bk.eps == 2.0**-53
    x = bk.asarray([[1.0, 2.0]])
    assert x.dtype == torch.float64
    assert bk.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert x.device.type == bk.device


def test_torch_backend_picks_cuda_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU in CI: pretend one exists and check the choice (creating the backend allocates nothing)."""
    from verify.backends import torch_backend

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_backend().device == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torch_backend().device == "cpu"


def test_missing_torch_is_a_one_line_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(VerifyInputError) as exc:
        get_backend("torch")
    assert str(exc.value) == "backend 'torch' needs the optional dependency torch: pip install -e '.[torch]'"


def test_missing_torch_cli_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   tmp_path) -> None:
    from verify.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)
    rc = main(["sweep", "vdt24.global", "--instances", "1", "--backend", "torch", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip() == "error: backend 'torch' needs the optional dependency torch: pip install -e '.[torch]'"


# ------------------------------------------------------------------- agreement with mpmath references
@pytest.mark.parametrize("name", FLOAT64)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_matches_high_precision_finite_differences(name: str, seed: int) -> None:
    inst, W = small_instance(seed)
    G_fd = fd_gradient(W, inst)
    G_ref = np.array([[float(v) for v in row] for row in G_fd])
    k = kernel_f64(name, inst, W)
    G_hat = np.asarray(get_backend(name).to_float(k.G_hat))[0]
    G = math.exp(f(k.log_scale)) * np.einsum("nt,ntd,ne->de", G_hat, inst.X, inst.z)
    # Same tolerance as the numpy check in test_kernel: 1e-10 relative is ~10^5 u, far above the O(nT d u)
    # rounding of a float64 kernel and far below any formula slip.
    assert np.linalg.norm(G - G_ref) <= 1e-10 * np.linalg.norm(G_ref)


@pytest.mark.parametrize("name", FLOAT64)
@pytest.mark.parametrize("scale", [30.0, 2000.0])
def test_loss_gap_saturated_matches_mpmath(name: str, scale: float) -> None:
    inst, W = _saturating_setup(scale)
    ref = float(_mp_log_gap(inst, W, 50 if scale < 100 else 1000))
    got = f(kernel_f64(name, inst, W).log_loss_gap)
    # log(L - L*) ~ -scale: the logits carry ~scale * u absolute error; 1e-10 relative as in test_kernel.
    assert got == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("name", FLOAT64)
def test_log_max_nonopt_matches_mpmath(name: str) -> None:
    for s in range(4):
        inst, W = small_instance(s)
        with mpmath.workdps(50):
            ref = float(mp_log_max_nonopt(mp_matrix(W), inst))
        # as in test_kernel: O(1) values, ~|a| u absolute error; 1e-10 relative with a 1e-12 floor
        assert f(kernel_f64(name, inst, W).log_max_nonopt) == pytest.approx(ref, rel=1e-10, abs=1e-12)


def test_torch_kernel_equals_numpy_kernel_to_rounding() -> None:
    """Every output of the kernel, batched over 5 instances, torch against numpy."""
    insts = [small_instance(s)[0] for s in range(5)]
    Ws = np.stack([small_instance(s)[1] for s in range(5)])
    out = {}
    for name in FLOAT64:
        bk = get_backend(name)
        prob = ac.build_problem(bk, ac.stack(insts), "dense")
        out[name] = ac.softmax_logistic_kernel(bk, prob.rep.logits(bk.asarray(Ws)), prob.g, prob.opt)
    tb = get_backend("torch")
    for field in ("G_hat", "log_scale", "loss", "log_loss_gap", "log_max_nonopt"):
        a, b = np.asarray(getattr(out["numpy"], field)), tb.to_float(getattr(out["torch"], field))
        # Two float64 evaluations of the same formulas in different summation orders: O(nT d u) ~ 1e-14.
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14, err_msg=field)
    assert np.array_equal(tb.to_numpy(out["torch"].selected), out["numpy"].selected)


# ------------------------------------------------------------------------------------------ trajectories
@pytest.mark.parametrize("method", ["gd", "ngd", "polyak"])
@pytest.mark.parametrize("rep", ["gram", "dense"])
def test_torch_trajectories_match_numpy(method: str, rep: str) -> None:
    insts = [generate(3, 4, 12, seed=s, tokens="orthonormal", noise=0.1, init_scale=0.5) for s in range(3)]
    trs = {name: run(ac.build_problem(get_backend(name), ac.stack(insts), rep), make_rule(method, eta=0.1), 800)
           for name in FLOAT64}
    a, b = trs["numpy"], trs["torch"]
    assert a.t == b.t and b.backend == "torch"
    assert np.all(a.precision_ok) and np.all(b.precision_ok)
    for k in ("W", "log_loss_gap", "log_max_nonopt", "log_grad_norm"):
        # Per step each direction carries relative error <= max_rel_error (~1e-12, the runs' own estimate);
        # over 800 steps the iterates may drift apart by <~ 800 * 1e-12 relative: 1e-8 is the trajectory
        # runner's tolerance (DEFAULT_TOL) and still 4 orders below any modelling difference.
        scale = np.maximum(1.0, np.abs(a.records[k]))
        assert np.max(np.abs(a.records[k] - b.records[k]) / scale) <= 1e-8, k
    assert np.array_equal(a.records["selected"], b.records["selected"])


def test_torch_ngd_survives_saturation_like_numpy() -> None:
    """8000 NGD steps at eta = 0.15: the logit gaps pass 745, where e^{a_t - a_r} underflows float64 (the naive
    softmax's non-optimal weights are exactly 0 there), and the log-scaled torch path keeps precision and
    moves, exactly as the numpy path."""
    inst = generate(3, 4, 12, seed=3, tokens="orthonormal")
    cps = [1000, 4000, 8000]
    trs = {name: run(ac.build_problem(get_backend(name), ac.stack([inst]), "gram"), make_rule("ngd", eta=0.15),
                     8000, cps) for name in FLOAT64}
    t = trs["torch"]
    assert np.all(t.precision_ok)
    assert t.records["log_max_nonopt"][-1, 0] < -745  # past float64's exp range: only the log form survives
    assert np.all(np.diff(np.linalg.norm(t.records["W"][:, 0], axis=(1, 2))) > 0)  # still moving
    # 8000 steps, per-step direction error ~1e-12 (the runs' own estimate): 1e-8 as in the trajectory test
    np.testing.assert_allclose(t.records["W"], trs["numpy"].records["W"], rtol=1e-8, atol=1e-8)


def test_mpmath_oracle_agrees_with_torch() -> None:
    """The confirmation path: 30-digit mpmath against torch float64 over 200 NGD steps (AGREE_TOL = 1e-6 is
    what the engine demands; the runs' own error estimates are ~1e-12)."""
    inst = generate(2, 3, 8, seed=4, tokens="orthonormal")
    cps = [50, 100, 200]
    t = run(ac.build_problem(get_backend("torch"), ac.stack([inst]), "gram"), make_rule("ngd", eta=0.1), 200, cps)
    m = run(ac.build_problem(mpmath_backend(30), ac.stack([inst]), "gram"), make_rule("ngd", eta=0.1), 200, cps)
    np.testing.assert_allclose(t.records["W"], m.records["W"], rtol=1e-9, atol=1e-9)



# ------------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("claim_id", ["vdt24.global", "vdt24.ngd-rate"])
def test_claims_give_the_same_verdict_on_torch_as_on_numpy(claim_id: str) -> None:
    """The property suite's claim check, on the torch backend: on instances meeting the assumptions, torch and
    numpy reach the same verdict with the same metric series (to the engine's AGREE_TOL)."""
    from hypothesis import given

    from theorems.vdt24 import CLAIMS, MODULE
    from verify.engine import AGREE_TOL, assess
    from verify.profiles import active_profile, claim_settings, hypothesis_settings

    claim = CLAIMS[claim_id]
    profile = active_profile()  # HYPOTHESIS_PROFILE, as the property suites
    base = claim_settings(profile)

    @hypothesis_settings(profile, profile.claim_examples)  # cost: ~6 s per example
    @given(MODULE.meets(claim_id))
    def prop(instance: ac.AttentionInstance) -> None:
        a = {b: assess(MODULE, claim, instance, base.but(backend=b)) for b in FLOAT64}
        assert a["torch"].evidence is not None, a["torch"].status
        assert a["torch"].verdict == a["numpy"].verdict
        assert a["torch"].evidence.run["backend"] == "torch"
        np.testing.assert_allclose(a["torch"].evidence.observed, a["numpy"].evidence.observed, rtol=AGREE_TOL)

    prop()
