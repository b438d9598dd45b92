"""A Dask distributed executor for ``verify sweep`` (:mod:`verify.sweep`).

It implements the sweep's executor interface::

    executor(fn: Callable[[WorkUnit], list[dict]], units: Sequence[WorkUnit]) -> Iterable[list[dict]]

by submitting ``fn(unit)`` for every unit to a Dask cluster and yielding each unit's results as soon as it
completes (``as_completed``). The sweep writes one result file per instance, atomically, in the calling process,
as results arrive; so

- **one results folder**: workers return plain dicts and never write result files (they need a shared file system
  only for confirmed-counterexample reports);
- **resumption**: after an interruption the sweep skips every instance that already has a result file, so
  finished instances are not recomputed;
- **no loss, no duplicates when a worker dies**: the scheduler re-runs a dead worker's tasks elsewhere (up to
  ``retries`` extra attempts per task); ``as_completed`` yields every future exactly once, and a result file is
  keyed by the instance's hash, so a re-run task cannot produce a second file.

Where the cluster comes from:

- default: a ``LocalCluster`` embedded in this process (``n_workers`` worker processes, one thread each, bound
  to 127.0.0.1, no dashboard), started when the sweep starts and closed when it ends;
- ``scheduler="tcp://HOST:PORT"``: an existing cluster (``dask scheduler`` plus ``dask worker`` processes,
  started from an environment where attention-verify, and any plugins, are installed);
- ``client=``: a ``distributed.Client`` you manage yourself (left open).

The Dask packages are an optional dependency (``pip install "attention-verify[dask]"``); without them the
executor raises :class:`~verify.errors.MissingDependencyError` (one line, exit status 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from verify.errors import MissingDependencyError, VerifyInputError

DEFAULT_WORKERS = max(1, min(4, (os.cpu_count() or 1)))
DEFAULT_RETRIES = 3  # extra attempts per work unit when a worker dies or a task fails to come back


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "the Dask executor needs dask[distributed]: pip install 'attention-verify[dask]'") from None
    return distributed


def _check_address(address: str) -> str:
    if not isinstance(address, str) or "://" not in address or not address.split("://", 1)[1]:
        raise VerifyInputError(f"--scheduler must look like tcp://HOST:PORT, got {address!r}")
    return address


@dataclass(frozen=True)
class DaskExecutor:
    """The sweep executor (a callable). ``scheduler`` or ``client`` selects an existing cluster; otherwise a
    LocalCluster of ``n_workers`` processes is started per call and closed afterwards."""

    scheduler: str | None = None
    n_workers: int = DEFAULT_WORKERS
    retries: int = DEFAULT_RETRIES
    client: Any = None
    connect_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.scheduler is not None:
            _check_address(self.scheduler)
        if self.n_workers < 1:
            raise VerifyInputError(f"--workers must be >= 1, got {self.n_workers}")
        if self.retries < 0:
            raise VerifyInputError(f"retries must be >= 0, got {self.retries}")

    def __call__(self, fn: Callable[[Any], list[dict]], units: Sequence[Any]) -> Iterator[list[dict]]:
        dist = _distributed()
        if not units:
            return
        client, owned = self._connect(dist)
        try:
            futures = client.map(fn, list(units), pure=False, retries=self.retries)
            for fut in dist.as_completed(futures):
                yield fut.result()
        finally:
            if owned:
                for closable in owned:
                    closable.close()

    def _connect(self, dist: Any) -> tuple[Any, list]:
        """(client, things to close when done)."""
        if self.client is not None:
            return self.client, []
        if self.scheduler is not None:
            try:
                client = dist.Client(self.scheduler, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise VerifyInputError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
            return client, [client]
        cluster = dist.LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=None)
        client = dist.Client(cluster)
        return client, [client, cluster]


def dask_executor(scheduler: str | None = None, *, n_workers: int = DEFAULT_WORKERS, retries: int = DEFAULT_RETRIES,
                  client: Any = None) -> DaskExecutor:
    """The executor for :func:`verify.sweep.sweep` (``executor=dask_executor(...)``); see the module docstring."""
    return DaskExecutor(scheduler=scheduler, n_workers=n_workers, retries=retries, client=client)
