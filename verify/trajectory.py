"""Run a step rule on a problem and record metrics at checkpoints, watching precision at every step.

A *problem* is any object with

- ``bk``: the :class:`~verify.backends.Backend` it computes in;
- ``init() -> state``;
- ``first_order(state) -> FirstOrder`` (``unit_grad``, ``log_grad_norm``, ``log_loss_gap``, ``rel_error``);
- ``observe(state, first_order) -> dict[str, np.ndarray]`` float64 metrics of shape (B, ...) at a checkpoint.

The update is the method's (``verify.methods.Method``: ``init`` / ``update``, optax style; e.g. a chain of
transforms whose step length is carried as a log until one ``exp``). A checkpoint is flagged
``precision_ok = False`` when, since the previous checkpoint, any value went non-finite, the estimated relative
error of a step direction exceeded ``tol``, or the iterate stopped moving although the gradient did not vanish.
Callers escalate (higher precision) or report "numerically unreliable"; they never treat such a point as data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from verify.backends import Backend, isfinite
from verify.compiled import compiled_steps
from verify.methods import Method

DEFAULT_TOL = 1e-8
"""Default bound on the per-step relative error of the direction. For a normalized method the accumulated
error in W_t / ||W_t|| is an average of the per-step errors, so this is also the accuracy of every direction
metric; 1e-8 is the agreement demanded between float64 and the mpmath oracle."""


class Problem(Protocol):
    @property
    def bk(self) -> Backend: ...

    def init(self) -> Any: ...

    def first_order(self, state: Any) -> Any: ...

    def observe(self, state: Any, fo: Any) -> dict[str, np.ndarray]: ...


# Optional parts of a problem, read with getattr (a problem without them behaves as before):
# - ``lazy_metrics = True``: ``first_order(state, metrics=False)`` may skip the checkpoint-only metrics; the
#   runner asks for them only at checkpoints and when the method needs the loss gap (``needs_loss_gap``);
# - ``iterate_record``: the name of the record that holds the iterate (default "W"), watched for "did not move";
# - ``derived_records() -> {name: Derived}``: records computed on demand from the stored ones (Records).


class Derived(Protocol):
    """A record computed on demand: ``f(stored, sel)`` with ``sel`` an instance index (returns (len(t), ...)) or a
    slice of instances (returns (len(t), B', ...)); ``take(b)`` is the same record for instance b alone."""

    def __call__(self, stored: dict[str, np.ndarray], sel: int | slice) -> np.ndarray: ...

    def take(self, b: int) -> Derived: ...


class Records(Mapping[str, np.ndarray]):
    """A trajectory's checkpoint records: stored arrays plus :class:`Derived` ones, built on first access.

    ``records[name]`` has shape (len(t), B, ...) as a plain dict would; :meth:`series` builds a derived record for
    one instance only, so e.g. a problem that stores its parameters as coefficients never materializes B d x d
    matrices per checkpoint unless a caller indexes the whole record."""

    def __init__(self, stored: dict[str, np.ndarray], derived: dict[str, Derived] | None = None) -> None:
        self._stored = stored
        self._derived = {k: v for k, v in (derived or {}).items() if k not in stored}
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self._stored:
            return self._stored[name]
        if name in self._derived:
            if name not in self._cache:
                self._cache[name] = self._derived[name](self._stored, slice(None))
            return self._cache[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self._stored
        yield from self._derived

    def __len__(self) -> int:
        return len(self._stored) + len(self._derived)

    def stored(self) -> dict[str, np.ndarray]:
        """The stored records (not the derived ones), by name."""
        return dict(self._stored)

    def series(self, name: str, b: int) -> np.ndarray:
        if name in self._stored or name in self._cache:
            return self[name][:, b]
        if name in self._derived:
            return self._derived[name](self._stored, b)
        raise KeyError(name)

    def take(self, b: int) -> Records:
        """Instance ``b`` as a batch of one (still lazy)."""
        return Records({k: v[:, b:b + 1] for k, v in self._stored.items()},
                       {k: d.take(b) for k, d in self._derived.items()})


@dataclass
class Trajectory:
    """Metrics at checkpoints: ``records[name]`` has shape (len(t), B, ...)."""

    t: list[int]
    records: Mapping[str, np.ndarray]
    precision_ok: np.ndarray  # (len(t), B) bool
    max_rel_error: np.ndarray  # (len(t), B) float
    backend: str
    dps: int
    rule: Method
    notes: list[str] = field(default_factory=list)
    note_for: list[np.ndarray | None] = field(default_factory=list)
    """Parallel to ``notes``: the (B,) mask of the instances a note concerns, None for the whole batch (a shorter
    list leaves the rest batch-wide). :meth:`take` keeps an instance's own notes only, so a slice of a batched run
    has the notes that instance's single run has."""

    def series(self, name: str, b: int = 0) -> np.ndarray:
        if isinstance(self.records, Records):
            return self.records.series(name, b)
        return self.records[name][:, b]

    def take(self, b: int) -> Trajectory:
        """Instance ``b`` as a batch of one: its records, and the batch-wide notes with its own."""
        recs = self.records.take(b) if isinstance(self.records, Records) else {
            k: v[:, b:b + 1] for k, v in self.records.items()}
        masks = list(self.note_for) + [None] * (len(self.notes) - len(self.note_for))
        notes = [n for n, m in zip(self.notes, masks, strict=True) if m is None or bool(m[b])]
        return Trajectory(t=list(self.t), records=recs, precision_ok=self.precision_ok[:, b:b + 1],
                          max_rel_error=self.max_rel_error[:, b:b + 1], backend=self.backend, dps=self.dps,
                          rule=self.rule, notes=notes)


def log_checkpoints(steps: int, per_decade: int = 10, start: int = 1) -> list[int]:
    """Integers from ``start`` to ``steps``, log-spaced (``per_decade`` per factor of 10), always including both."""
    if steps < start:
        return [steps]
    k = max(1, int(math.ceil(per_decade * math.log10(max(steps, 1) / start))) + 1)
    pts = np.unique(np.round(start * np.logspace(0, math.log10(steps / start), k)).astype(int))
    return sorted(set(pts.tolist()) | {start, steps})


def run(problem: Problem, rule: Method, steps: int, checkpoints: list[int] | None = None,
        tol: float = DEFAULT_TOL) -> Trajectory:
    """Run ``steps`` steps of ``rule`` and record ``problem.observe`` at each checkpoint (t counts steps taken)."""
    cps = sorted(set(checkpoints if checkpoints is not None else log_checkpoints(steps)))
    cps = [t for t in cps if 0 <= t <= steps]
    bk = problem.bk
    recs: dict[str, list[np.ndarray]] = {}
    ok_rows: list[np.ndarray] = []
    err_rows: list[np.ndarray] = []
    notes: list[str] = []
    note_for: dict[int, np.ndarray] = {}  # note index -> the instances it concerns (the others: every instance)
    lazy = bool(getattr(problem, "lazy_metrics", False))
    every_step = bool(getattr(rule, "needs_loss_gap", True))  # a method that reads log(L - L*) at every step
    iterate = str(getattr(problem, "iterate_record", "W"))
    step_error = getattr(rule, "step_error", None)  # a method that bounds its own update's rounding
    with bk.context():
        state = problem.init()
        mstate = rule.init(state)
        window_err: Any = None
        window_ok: Any = None
        last_W: np.ndarray | None = None
        cp_set = set(cps)
        jit = compiled_steps(problem, rule, tol, every_step, notes) if bk.name == "jax" else None
        t = -1
        while t < steps:
            t += 1
            at_cp = t in cp_set
            if jit is not None and jit.ok and not at_cp:  # the steps up to the next checkpoint, in one call
                if t == steps:  # the last step is no checkpoint: nothing is recorded after it
                    break
                end = min([c for c in cps if c > t] + [steps])
                out = jit.segment(state, mstate, t, end, window_err, window_ok)
                if out is not None:
                    state, mstate, window_err, window_ok = out
                    t = end - 1
                    continue
            fo = jit.first_order(state, at_cp or every_step) if jit is not None and jit.ok else None
            if fo is None:  # not compiled (another backend, or it did not trace: noted)
                fo = (problem.first_order(state, metrics=at_cp or every_step)  # type: ignore[call-arg]
                      if lazy else problem.first_order(state))
            rel = np.asarray(fo.rel_error, dtype=float)
            own = step_error(mstate) if step_error is not None else None
            if own is not None:  # (e.g. the steep inverse mirror map): fold it into the watch
                rel = np.maximum(rel, np.asarray(own, dtype=float))
            finite = np.asarray(isfinite(fo.log_grad_norm), dtype=bool) | (np.asarray(fo.rel_error) == np.inf)
            window_err = rel if window_err is None else np.maximum(window_err, rel)
            good = finite & (rel <= tol)
            window_ok = good if window_ok is None else (window_ok & good)
            if at_cp:
                obs = problem.observe(state, fo)
                W = obs.get(iterate)
                if W is not None and last_W is not None:
                    moved = np.any(last_W != W, axis=tuple(range(1, W.ndim)))
                    stuck = ~moved & (rel < np.inf)
                    if np.any(stuck):
                        note_for[len(notes)] = stuck
                        notes.append(f"t={t}: iterate did not move since the previous checkpoint (step below rounding)")
                    window_ok = window_ok & ~stuck
                last_W = W
                for k, v in obs.items():
                    recs.setdefault(k, []).append(np.asarray(v))
                ok_rows.append(window_ok.copy())
                err_rows.append(window_err.copy())
                window_err, window_ok = None, None
            if t == steps:
                break
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging run: the next first_order flags it
                stepped = jit.update(state, mstate, fo, t) if jit is not None and jit.ok else None
                state, mstate = stepped if stepped is not None else rule.update(state, mstate, fo, t)
    derived = getattr(problem, "derived_records", None)
    return Trajectory(
        t=cps,
        records=Records({k: np.stack(v) for k, v in recs.items()}, derived() if derived is not None else None),
        precision_ok=np.stack(ok_rows),
        max_rel_error=np.stack(err_rows),
        backend=bk.name,
        dps=bk.dps,
        rule=rule,
        notes=notes,
        note_for=[note_for.get(k) for k in range(len(notes))],
    )
