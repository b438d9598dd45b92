"""Plugin packages for subprocess tests, whether or not they are pip-installed.

importlib.metadata reads entry points from any ``*.dist-info`` folder on sys.path, so a throw-away folder with a
METADATA and an entry_points.txt on PYTHONPATH makes a package's entry points visible exactly as an install
would. CI also ``pip install``s the example plugins; then they are found through their real metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def installed(dist_name: str) -> bool:
    try:
        distribution(dist_name)
    except PackageNotFoundError:
        return False
    return True


def fake_dist(where: Path, name: str, groups: dict[str, dict[str, str]]) -> None:
    """A ``NAME-0.1.dist-info`` folder in ``where`` declaring ``groups`` = {group: {entry name: "mod:attr"}}."""
    d = where / f"{name}-0.1.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = [line for group, entries in groups.items()
             for line in (f"[{group}]", *(f"{k} = {v}" for k, v in entries.items()), "")]
    (d / "entry_points.txt").write_text("\n".join(lines))


def plugin_env(site: Path, sources: list[Path], fakes: dict[str, dict[str, dict[str, str]]],
               **extra: str) -> dict:
    """An environment whose PYTHONPATH holds ``site`` (with a fake distribution for each ``fakes`` entry that is
    not pip-installed), the repository and the plugins' ``sources``."""
    site.mkdir(parents=True, exist_ok=True)
    for dist_name, groups in fakes.items():
        if not installed(dist_name):
            fake_dist(site, dist_name.replace("-", "_"), groups)
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DISABLE_PLUGINS", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), *map(str, sources)])
    env.update(extra)
    return env


def run_verify(args: list[str], env: dict, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verify", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
