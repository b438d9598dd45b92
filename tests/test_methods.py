"""verify/methods.py: the transforms and their log-space step lengths (Polyak's L* checked against mpmath),
per-block normalization of tuple parameters, Adam in log-scaled form (against a plain float implementation),
sign GD, and the one methods table that make_method, method_params and the command line read."""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify import methods
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.methods import (
    METHOD_TABLE,
    MethodSpec,
    Param,
    Update,
    adam,
    chain,
    gradient,
    make_method,
    make_rule,
    method_params,
    names,
    normalize,
    scale,
    sign,
)


def _final_update(method, fo):  # type: ignore[no-untyped-def]
    """The update a chain hands its geometry (its transforms run on ``fo``)."""
    u = None
    for tr in method.transforms:
        u, _ = tr.update(u, tr.init(None), fo, 0)
    return u


def test_step_lengths_in_log_space() -> None:
    fo = _fo(np.ones((1, 2)) / math.sqrt(2), [np.log(4.0)], [-3.0])
    assert _final_update(make_rule("gd", eta=0.5), fo).log_scale[0] == pytest.approx(np.log(2.0))
    assert _final_update(make_rule("ngd", eta=0.5), fo).log_scale[0] == pytest.approx(np.log(0.5))
    # Polyak: (L - L*)/(c ||g||) with L - L* = e^-3, ||g|| = e^-1, c = 2
    fo = _fo(np.ones((1, 2)) / math.sqrt(2), [-1.0], [-3.0])
    assert _final_update(make_rule("polyak", c=2.0), fo).log_scale[0] == pytest.approx(-2.0 - np.log(2.0))
    # far below float64's range the length stays a finite log: e^-2000 * 0.5
    fo = _fo(np.ones((1, 2)) / math.sqrt(2), [-2000.0], [-3.0])
    assert _final_update(make_rule("gd", eta=0.5), fo).log_scale[0] == pytest.approx(-2000.0 + np.log(0.5))
    assert [make_method(m).needs_loss_gap for m in ("gd", "ngd", "polyak", "adam", "signgd")] == [
        False, False, True, False, False]


def _mp_loss_and_grad(inst: ac.AttentionInstance, W: np.ndarray, dps: int = 50):  # type: ignore[no-untyped-def]
    """L(W), L* and grad L in mpmath straight from the definitions (the oracle: naive is fine at 50 digits)."""
    with mpmath.workdps(dps):
        X = [[[mpmath.mpf(float(v)) for v in x] for x in seq] for seq in inst.X]
        u = [mpmath.mpf(float(v)) for v in inst.u]
        Wm = [[mpmath.mpf(float(v)) for v in row] for row in W]
        z = [[mpmath.mpf(float(v)) for v in zz] for zz in inst.z]
        n, T, d = inst.n, inst.T, inst.d
        L, Ls = mpmath.mpf(0), mpmath.mpf(0)
        G = [[mpmath.mpf(0)] * d for _ in range(d)]
        for i in range(n):
            Wz = [mpmath.fsum(Wm[a][b] * z[i][b] for b in range(d)) for a in range(d)]
            a_ = [mpmath.fsum(X[i][t][k] * Wz[k] for k in range(d)) for t in range(T)]
            e = [mpmath.exp(v) for v in a_]
            s = [v / mpmath.fsum(e) for v in e]
            g = [inst.y[i] * mpmath.fsum(u[k] * X[i][t][k] for k in range(d)) for t in range(T)]
            gbar = mpmath.fsum(s[t] * g[t] for t in range(T))
            L += mpmath.log1p(mpmath.exp(-gbar)) / n
            Ls += mpmath.log1p(mpmath.exp(-max(g))) / n
            lp = -1 / (1 + mpmath.exp(gbar))
            for t in range(T):
                c = lp * s[t] * (g[t] - gbar) / n
                for p in range(d):
                    for q in range(d):
                        G[p][q] += c * X[i][t][p] * z[i][q]
        return L, Ls, G


def test_polyak_step_matches_its_definition_with_fixed_decoder_L_star() -> None:
    """One Polyak step W <- W - (L - L*)/(c ||grad L||^2) grad L, with L* = (1/n) sum_i l(g_{i,opt_i}),
    equals the rule's step to 1e-12 relative (float64 kernel vs 50-digit definitions)."""
    inst = generate(3, 3, 9, seed=1, tokens="orthonormal", noise=0.1)
    W = np.random.default_rng(0).normal(size=(9, 9))
    bk = get_backend("numpy")
    prob = ac.build_problem(bk, ac.stack([inst.with_W0(W)]), "dense")
    c = 2.0
    rule = make_rule("polyak", c=c)
    fo = prob.first_order(prob.init())
    W1, _ = rule.update(prob.init(), rule.init(prob.init()), fo, 0)
    L, Ls, G = _mp_loss_and_grad(inst, W)
    assert float(Ls) == pytest.approx(ac.optimal_loss(inst), rel=1e-14)
    g2 = mpmath.fsum(v * v for row in G for v in row)
    gamma = (L - Ls) / (c * g2)
    expect = np.array([[float(W[p, q] - gamma * G[p][q]) for q in range(9)] for p in range(9)])
    step_true = expect - W
    # relative error of the step itself (1e-12: the kernel's self-reported direction error here is ~1e-14)
    assert np.linalg.norm((W1[0] - W) - step_true) <= 1e-12 * np.linalg.norm(step_true)


def _fo(unit, lg, gap=0.0):  # type: ignore[no-untyped-def]
    return SimpleNamespace(unit_grad=unit, log_grad_norm=np.asarray(lg, dtype=float),
                           log_loss_gap=np.asarray(gap, dtype=float))


def _generic(method):  # type: ignore[no-untyped-def]
    """The same chain with its fused path off: every step builds the Update link by link."""
    plain = methods.Chain(method.name, method.transforms, method.geometry, method.config)
    object.__setattr__(plain, "_log_links", None)
    return plain


@pytest.mark.parametrize("name", ["gd", "ngd", "polyak"])
@pytest.mark.parametrize("backend", ["numpy", "mpmath", "torch"])
def test_the_fused_step_is_the_generic_step_bit_for_bit(name: str, backend: str) -> None:
    """Chain's fused path (gradient() then links that only shift the log scale, Euclidean geometry) gives the
    values the generic path gives, bit for bit, over whole runs of both representations, and for a
    schedule and a per-block gradient of array parameters too."""
    if backend == "torch":
        pytest.importorskip("torch")
    from verify.trajectory import run

    bk = get_backend(backend, dps=30) if backend == "mpmath" else get_backend(backend)
    insts = [generate(2, 3, 8, seed=s, tokens="orthonormal", noise=0.2) for s in (1, 2)]
    rule = make_method(name, eta=0.3) if name != "polyak" else make_method(name, c=1.5)
    assert rule._log_links is not None
    for rep in ("gram", "dense"):
        prob = ac.build_problem(bk, ac.stack(insts), rep)
        fused, generic = run(prob, rule, 12, [3, 12]), run(prob, _generic(rule), 12, [3, 12])
        for key in ("loss", "log_grad_norm", "W"):
            a, b = np.asarray(fused.records[key], dtype=object), np.asarray(generic.records[key], dtype=object)
            assert a.shape == b.shape and all(x == y for x, y in zip(a.ravel(), b.ravel(), strict=True)), key
        assert np.array_equal(fused.max_rel_error, generic.max_rel_error)
    fo = _fo(np.full((2, 3), 0.5), [0.3, -700.0], [-2.0, -5.0])
    for method in (chain(gradient(), methods.scale_by_schedule(0.7, 0.5), normalize(), scale(2.0)),
                   chain(gradient(per_block=True), normalize(), methods.scale_by_polyak(3.0))):
        assert method._log_links is not None
        params = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        for t in (0, 7):
            got, want = method.update(params, None, fo, t)[0], _generic(method).update(params, None, fo, t)[0]
            assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_only_log_scale_chains_on_the_euclidean_geometry_are_fused() -> None:
    assert make_method("adam")._log_links is None  # a link with state
    assert make_method("signgd")._log_links is None  # a link that changes the direction
    assert make_method("lp-md", p=3.0, eta=0.1)._log_links is None  # another geometry
    assert chain(gradient(log_space=False), scale(0.1))._log_links is None  # a factor, not a log scale
    assert chain(gradient(term="data"), scale(0.1))._log_links is None  # one term of the objective
    assert chain(scale(0.1))._log_links is None  # no gradient at its head


def test_block_rule_normalizes_each_block_and_keeps_a_zero_block_still() -> None:
    u = np.zeros((1, 3))
    W = np.ones((1, 2, 2))
    du = np.array([[1.0, 0.0, 0.0]])
    dW = np.zeros((1, 2, 2))
    fo = SimpleNamespace(unit_grad=(du, dW), block_unit_grad=(du, dW),
                         block_log_grad_norm=(np.array([0.3]), np.array([-np.inf])), log_loss_gap=np.array([-1.0]))
    for name in ("ngd", "polyak", "gd"):
        (u1, W1), _ = make_method(name, eta=0.2, c=1.0, normalize="block").update((u, W), None, fo, 0)
        assert np.array_equal(W1, W) and np.all(np.isfinite(u1))
    (u1, _), _ = make_method("ngd", eta=0.2, normalize="block").update((u, W), None, fo, 0)
    assert np.linalg.norm(u1 - u) == pytest.approx(0.2, rel=1e-15)


def _plain_adam(grads: list[np.ndarray], lr: float, b1: float = 0.9, b2: float = 0.999,
                eps: float = 1e-8) -> np.ndarray:
    p = np.zeros_like(grads[0])
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** (t + 1))) / (np.sqrt(v / (1 - b2 ** (t + 1))) + eps)
    return p


def test_adam_matches_plain_adam_and_survives_tiny_gradients() -> None:
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=(1, 4)) * 10.0 ** rng.uniform(-3, 1) for _ in range(40)]
    a = adam(0.01)
    p, st = np.zeros((1, 4)), a.init(np.zeros((1, 4)))
    for t, g in enumerate(grads):
        nrm = np.linalg.norm(g)
        p, st = a.update(p, st, _fo(g / nrm, [math.log(nrm)]), t)
    # The log-scaled form differs from the plain one only by rounding (a few exp/log per step, each ~1e-16
    # relative): per step at most ~1e-14 * lr absolute, so over 40 steps the bound is 40 * lr * 1e-12, with
    # two orders of magnitude to spare. (Relative error is the wrong yardstick: steps of +-lr cancel.)
    atol = 40 * 0.01 * 1e-12
    np.testing.assert_allclose(p, _plain_adam(grads, 0.01), rtol=0, atol=atol)
    # gradients e^{-2000} (zero in float64): with eps = 0 Adam is scale-free, so the iterate equals the one for
    # the unscaled gradients; with eps > 0, eps dominates and the iterate does not move (and never turns NaN).
    p0, s0 = np.zeros((1, 4)), adam(0.01, eps=0.0).init(np.zeros((1, 4)))
    p1, s1 = np.zeros((1, 4)), adam(0.01).init(np.zeros((1, 4)))
    for t, g in enumerate(grads):
        nrm = np.linalg.norm(g)
        p0, s0 = adam(0.01, eps=0.0).update(p0, s0, _fo(g / nrm, [math.log(nrm) - 2000]), t)
        p1, s1 = adam(0.01).update(p1, s1, _fo(g / nrm, [math.log(nrm) - 2000]), t)
    np.testing.assert_allclose(p0, _plain_adam(grads, 0.01, eps=0.0), rtol=0, atol=atol)
    assert np.all(p1 == 0)


def test_adam_on_tuple_parameters_and_mpmath() -> None:
    params = (np.zeros((1, 2)), np.zeros((1, 2, 2)))
    a = adam(0.1)
    st = a.init(params)
    fo = _fo((np.array([[0.6, 0.0]]), np.array([[[0.8, 0.0], [0.0, 0.0]]])), [0.0])
    new, _ = a.update(params, st, fo, 0)
    # first Adam step is lr * sign(g) elementwise (eps negligible): 0.1 where g != 0
    assert new[0][0, 0] == pytest.approx(-0.1, rel=1e-6) and new[1][0, 0, 0] == pytest.approx(-0.1, rel=1e-6)
    assert new[0][0, 1] == 0 and new[1][0, 1, 1] == 0
    bk = get_backend("mpmath", 30)
    with bk.context():
        pm = bk.asarray(np.zeros((1, 2)))
        out, _ = a.update(pm, a.init(pm), _fo(bk.asarray(np.array([[0.6, 0.8]])), [0.0]), 0)
    assert float(out[0, 1]) == pytest.approx(-0.1, rel=1e-6)


def test_sign_gd_steps_by_eta_times_the_sign_of_the_gradient() -> None:
    W = np.array([[1.0, -2.0, 3.0]])
    g = np.array([[0.5, -1e-300, 0.0]])  # a tiny entry still moves by eta; a zero entry does not move
    nrm = np.linalg.norm(g)
    W1, _ = make_method("signgd", eta=0.25).update(W, None, _fo(g / nrm, [math.log(nrm)]), 0)
    assert np.array_equal(W1, np.array([[0.75, -1.75, 3.0]]))
    assert method_params("signgd", {}) == {"eta": 0.1} and not METHOD_TABLE["signgd"].along_gradient


def test_transforms_refuse_an_update_they_cannot_read() -> None:
    fo = _fo(np.ones((1, 2)) / math.sqrt(2), [0.0])
    with pytest.raises(VerifyInputError, match=r"normalize\(\) needs"):  # sign() leaves no log length
        chain(gradient(), sign(), normalize()).update(np.zeros((1, 2)), None, fo, 0)
    with pytest.raises(VerifyInputError, match="before it"):
        chain(scale(0.1)).update(np.zeros((1, 2)), None, fo, 0)
    u, _ = normalize().update(Update(np.ones((1, 2)) / math.sqrt(2), log_scale=np.array([5.0]), unit=True),
                              None, fo, 0)
    assert u.log_scale[0] == 0.0


def test_make_method_reads_the_table_and_validates() -> None:
    assert make_method("adam", eta=0.01).to_json() == {"name": "adam", "lr": 0.01, "b1": 0.9, "b2": 0.999,
                                                      "eps": 1e-8}
    assert make_method("ngd", normalize="block").to_json() == {"name": "ngd", "eta": 0.1, "normalize": "block"}
    assert make_method("polyak", eta=5.0, c=2.0).to_json() == {"name": "polyak", "c": 2.0}  # eta is not polyak's
    for bad in (dict(name="sgd"), dict(name="adam", eta=-1.0), dict(name="ngd", normalize="rows"),
                dict(name="polyak", c=0.0), dict(name="gd", eta="fast")):
        with pytest.raises(VerifyInputError):
            make_method(**bad)  # type: ignore[arg-type]
    with pytest.raises(VerifyInputError):
        make_rule("adam")  # not a step along the gradient


def test_method_params_come_from_the_table() -> None:
    params = {"eta": 0.3, "c": 2.0, "decades": 2}
    assert method_params("gd", params) == {"eta": 0.3} and method_params("polyak", params) == {"c": 2.0}
    assert method_params("ngd", {}) == {"eta": 0.1} and method_params("polyak", {}) == {"c": 1.0}
    assert method_params("lp-md", {"p": 3, "eta": 0.2}) == {"p": 3.0, "eta": 0.2, "normalized": True}
    with pytest.raises(VerifyInputError):
        method_params("lp-md", {})  # p has no default
    with pytest.raises(VerifyInputError):
        method_params("sgd", params)


def test_a_method_added_to_the_table_is_known_everywhere(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One row: make_method, method_params and names() (the --method choices) all see it."""
    spec = MethodSpec("half-ngd", "NGD at half the step", "W <- W - (eta/2) grad L / ||grad L||",
                      (Param("eta", 0.1, "step size", "eta"),),
                      lambda kw, pb: chain(gradient(pb), normalize(), scale(kw["eta"] / 2), name="half-ngd"),
                      along_gradient=True)
    monkeypatch.setitem(METHOD_TABLE, "half-ngd", spec)
    assert "half-ngd" in names()
    assert method_params("half-ngd", {"eta": 0.4, "c": 3.0}) == {"eta": 0.4}
    fo = _fo(np.array([[0.6, 0.8]]), [7.0])
    W1, _ = make_method("half-ngd", eta=0.4).update(np.zeros((1, 2)), None, fo, 0)
    assert np.linalg.norm(W1) == pytest.approx(0.2, rel=1e-15)


def test_the_methods_page_documents_every_registered_method() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "methods.md").read_text()
    table = page.split("## The methods table", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([\w-]+)` \|", table, flags=re.M))
    assert rows == set(names()) == set(methods.METHODS)
