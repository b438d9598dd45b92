"""Compiled steps for the jax backend: the trajectory runner's loop, in ``jax.jit``.

:func:`verify.trajectory.run` on the ``jax`` backend asks :func:`compiled_steps` for three compiled functions
and otherwise runs its loop unchanged:

- ``segment(state, mstate, lo, hi, window_err, window_ok)``: steps ``lo .. hi - 1`` (none of them a checkpoint)
  as one ``lax.fori_loop``. Each step evaluates the problem's first order (checkpoint metrics skipped unless the
  method reads the loss gap at every step), folds the step's estimated relative error and its finiteness into
  the precision watch's window exactly as the step-by-step loop does (max of the errors; ok while finite and
  within ``tol``), and applies the method's update;
- ``first_order(state, metrics)``: one evaluation at a checkpoint, metrics included;
- ``update(state, mstate, fo, t)``: one update.

A problem with ``compiled_carry_init(state)`` may carry a quantity from step to step inside a segment: when
that returns a pytree of arrays (not None), each step calls ``first_order_carried(state, carry, metrics) ->
(first order, carry)`` instead of ``first_order``, and the carry travels in the loop state. Each segment starts
from a fresh ``compiled_carry_init``, so nothing carries across a checkpoint or from one run to the next.

The loop bounds are traced values, so one compilation serves every segment of a run. A problem with
``compile_parts() -> (key, arrays, rebuild)`` (its data as a pytree of arrays; ``rebuild(arrays)`` the same
problem on other arrays of the same shapes) passes its data as arguments, so one compilation also serves every
problem with the same key and the same method (at most :data:`CACHE_SIZE` programs are kept). Otherwise the
data are constants of the program, compiled once per run.

Inside ``jit`` no code may branch on a value. A problem whose checks would raise (e.g. a loss-gap term that is
not positive) must produce NaN under tracing (:func:`verify.backends.is_traced`) and raise from ``observe``,
which runs eagerly on the returned arrays; NaN in a step makes the watch flag it, as on the other backends.
A method or problem that does not trace (a numpy call on a traced array, a branch on a value) is reported in
the run's notes, and the run goes on step by step, eagerly, with the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CACHE_SIZE = 32
_CACHE: dict[tuple, tuple[Any, Any, Any]] = {}


class CompiledSteps:
    """The compiled functions of one run (see the module docstring); ``ok`` turns False after a failure."""

    def __init__(self, fns: tuple[Any, Any, Any], arrays: Any, rule: Any, notes: list[str],
                 store: Any) -> None:
        self._segment, self._first_order, self._update = fns
        self._arrays, self._rule, self._notes, self._store = arrays, rule, notes, store
        self.ok = True
        self._traced = False

    def _call(self, fn: Any, *args: Any) -> Any:
        import jax

        try:
            out = fn(self._arrays, *args)
        except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError) as exc:
            if self._traced:
                raise
            self.ok = False
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            self._notes.append(f"method {getattr(self._rule, 'name', '?')} did not compile on the jax backend "
                               f"({first[:160]}): its steps ran one by one")
            return None
        if not self._traced:
            self._traced = True
            self._store()
        return out

    def segment(self, state: Any, mstate: Any, lo: int, hi: int, werr: Any, wok: Any) -> tuple | None:
        nb = _batch_size(state)  # (numpy arguments: jit takes them as they are, without a dispatch of its own)
        werr = np.zeros(nb) if werr is None else np.asarray(werr, dtype=np.float64)
        wok = np.ones(nb, dtype=bool) if wok is None else np.asarray(wok, dtype=bool)
        out = self._call(self._segment, state, mstate, lo, hi, werr, wok)
        if out is None:
            return None
        return out[0], out[1], np.asarray(out[2]), np.asarray(out[3])

    def first_order(self, state: Any, metrics: bool) -> Any:
        return self._call(self._first_order, state, metrics)

    def update(self, state: Any, mstate: Any, fo: Any, t: int) -> tuple:
        return self._call(self._update, state, mstate, fo, t)


def _batch_size(state: Any) -> int:
    return int((state[0] if isinstance(state, tuple) else state).shape[0])


def compiled_steps(problem: Any, rule: Any, tol: float, every_step: bool, notes: list[str]) -> CompiledSteps:
    """The compiled functions for ``problem`` and ``rule`` (cached by the problem's key and the rule's repr)."""
    import jax
    import jax.numpy as jnp

    lazy = bool(getattr(problem, "lazy_metrics", False))
    step_error = getattr(rule, "step_error", None)
    parts = getattr(problem, "compile_parts", None)
    key, arrays, rebuild = parts() if parts is not None else (None, {}, lambda _: problem)
    cache_key = None if key is None else (key, repr(rule), tol, every_step, lazy)
    fns = _CACHE.get(cache_key) if cache_key is not None else None

    def evaluate(prob: Any, state: Any, metrics: bool) -> Any:
        return prob.first_order(state, metrics=metrics) if lazy else prob.first_order(state)

    if fns is None:
        def run_steps(arrs: Any, state: Any, mstate: Any, lo: Any, hi: Any, werr: Any, wok: Any) -> tuple:
            prob = rebuild(arrs)
            carry_init = getattr(prob, "compiled_carry_init", None)
            aux0 = carry_init(state) if carry_init is not None else None

            def body(t: Any, carry: tuple) -> tuple:
                state, mstate, werr, wok, aux = carry
                if aux is None:
                    fo = evaluate(prob, state, every_step)
                else:
                    fo, aux = prob.first_order_carried(state, aux, every_step)
                rel = jnp.asarray(fo.rel_error, dtype=jnp.float64)
                own = step_error(mstate) if step_error is not None else None
                if own is not None:
                    rel = jnp.maximum(rel, jnp.asarray(own, dtype=jnp.float64))
                finite = jnp.isfinite(fo.log_grad_norm) | (rel == jnp.inf)
                state, mstate = rule.update(state, mstate, fo, t)
                return state, mstate, jnp.maximum(werr, rel), wok & finite & (rel <= tol), aux

            return jax.lax.fori_loop(lo, hi, body, (state, mstate, werr, wok, aux0))[:4]

        def first_order(arrs: Any, state: Any, metrics: bool) -> Any:
            return evaluate(rebuild(arrs), state, metrics)

        def update(arrs: Any, state: Any, mstate: Any, fo: Any, t: Any) -> tuple:
            return rule.update(state, mstate, fo, t)

        fns = (jax.jit(run_steps), jax.jit(first_order, static_argnums=2), jax.jit(update))

    def store() -> None:
        if cache_key is not None and cache_key not in _CACHE:
            if len(_CACHE) >= CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[cache_key] = fns
    return CompiledSteps(fns, arrays, rule, notes, store)
