"""The Dask executor of ``verify sweep``: a LocalCluster of 2 worker processes on loopback; one worker killed
mid-sweep loses and duplicates nothing; an interrupted sweep resumes without recomputing finished instances;
``--scheduler`` reaches an existing cluster; bad addresses are one-line errors."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")

from verify.cli import main  # noqa: E402
from verify.errors import VerifyInputError  # noqa: E402
from verify.registry import find_claim  # noqa: E402
from verify.sweep import instance_hash, sweep  # noqa: E402
from verify.sweep_dask import DaskExecutor, dask_executor  # noqa: E402

CLAIM = "vdt24.ngd-rate"  # holds on its instances: no confirmation runs, so each unit takes about a second
N = 4
SEED = 3


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None)
    client = distributed.Client(cl)
    yield cl, client
    client.close()
    cl.close()


def _results(d: Path) -> dict[str, dict]:
    """Result files by key; each must be named by its key, and its key must start with the hash of its own
    instance (the sweep may append a hash of the settings)."""
    files = sorted((d / "instances").glob("*.json"))
    rows = {f.stem: json.loads(f.read_text()) for f in files}
    for k, r in rows.items():
        assert r["key"] == k
        assert k.startswith(instance_hash(find_claim(CLAIM)[0].load_instance(r["instance"])))
    return rows


def _assert_complete(rows: dict[str, dict]) -> None:
    """N results, one per instance and per index: nothing lost, nothing duplicated."""
    assert len(rows) == N
    assert sorted(r["index"] for r in rows.values()) == list(range(N))
    assert len({json.dumps(r["instance"], sort_keys=True) for r in rows.values()}) == N


def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(cluster: Any, tmp_path: Path) -> None:
    cl, client = cluster
    inner = dask_executor(client=client)
    killed: list[int] = []

    def killing(fn: Any, units: Any) -> Iterator[list[dict]]:
        for k, res in enumerate(inner(fn, units)):
            if k == 0:  # the first unit is back: kill a worker that still has work assigned
                pids = client.run(os.getpid)
                busy = [w for w, tasks in client.processing().items() if tasks]
                assert busy, "no worker had work left to kill"
                killed.append(pids[busy[0]])
                os.kill(pids[busy[0]], signal.SIGKILL)
            yield res

    s = sweep(CLAIM, N, seed=SEED, results=tmp_path / "r", batch_size=1, quiet=True, executor=killing)
    assert killed
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and killed[0] in client.run(os.getpid).values():
        time.sleep(0.2)
    assert killed[0] not in client.run(os.getpid).values()  # that worker really died (the nanny replaced it)
    rows = _results(tmp_path / "r")
    _assert_complete(rows)
    assert s.ran == N and s.skipped == 0 and sum(s.counts.values()) == N
    assert all(r["verdict"] == "holds" for r in rows.values()), {k: r["status"] for k, r in rows.items()}


def test_interrupted_sweep_resumes_without_recomputing(cluster: Any, tmp_path: Path) -> None:
    cl, _ = cluster
    ex = dask_executor(cl.scheduler_address)  # the --scheduler tcp://HOST:PORT path

    def interrupted(fn: Any, units: Any) -> Iterator[list[dict]]:
        for k, res in enumerate(ex(fn, units)):
            yield res
            if k == 1:
                raise KeyboardInterrupt  # as if ^C after two units came back

    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        sweep(CLAIM, N, seed=SEED, results=out, batch_size=1, quiet=True, executor=interrupted)
    first = _results(out)
    assert len(first) == 2
    stamps = {k: (out / "instances" / f"{k}.json").stat().st_mtime_ns for k in first}
    s = sweep(CLAIM, N, seed=SEED, results=out, batch_size=1, quiet=True, executor=ex)
    assert s.skipped == 2 and s.ran == N - 2
    rows = _results(out)
    _assert_complete(rows)
    for k, stamp in stamps.items():  # the finished instances were not recomputed (files untouched)
        assert (out / "instances" / f"{k}.json").stat().st_mtime_ns == stamp
        assert rows[k] == first[k]


def test_cli_sweep_on_an_existing_cluster(cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cl, _ = cluster
    rc = main(["sweep", CLAIM, "--instances", "2", "--seed", str(SEED), "--results", str(tmp_path / "r"),
               "--batch-size", "1", "--scheduler", cl.scheduler_address, "--quiet", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ran"] == 2 and sum(summary["counts"].values()) == 2
    assert len(_results(tmp_path / "r")) == 2


def test_bad_scheduler_addresses_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(VerifyInputError, match="tcp://HOST:PORT"):
        dask_executor("localhost:8786")
    with pytest.raises(VerifyInputError, match="--workers"):
        dask_executor(n_workers=0)
    ex = DaskExecutor(scheduler="tcp://127.0.0.1:1", connect_timeout=2)  # nothing listens on port 1
    with pytest.raises(VerifyInputError, match="cannot reach the Dask scheduler"):
        list(ex(lambda u: [], [object()]))
    rc = main(["sweep", CLAIM, "--instances", "1", "--results", str(tmp_path / "r"), "--scheduler", "nonsense"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_empty_unit_list_starts_no_cluster() -> None:
    assert list(dask_executor()(lambda u: [u], [])) == []
