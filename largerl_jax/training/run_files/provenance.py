"""What a run folder's numbers were produced with: package versions, devices, matmul precision
and source commit, in ``provenance.json``. Each process that works on the folder (the first and
every resume) appends its record, so a run continued under other versions shows both."""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
from typing import Callable

import jax

PACKAGES = ("jax", "jaxlib", "flax", "optax", "mujoco", "brax", "gymnasium")
FILENAME = "provenance.json"
# Differences in these change the numbers a run produces; commit and host do not have to.
_COMPARED = ("device_kind", "matmul_precision")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(directory: str, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def source_state(directory: str | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout the package was imported from; (None, None) when it
    was not, e.g. a wheel installed into an environment that happens to sit inside a repo."""
    directory = directory or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if _git(directory, "ls-files", "--error-unmatch", "--", "__init__.py") is None:
        return None, None
    commit = _git(directory, "rev-parse", "HEAD")
    status = _git(directory, "status", "--porcelain")
    if commit is None or status is None:
        return None, None
    return commit.strip(), bool(status.strip())


def collect(matmul_precision: str) -> dict:
    devices = jax.local_devices()  # the devices this process trains on
    commit, dirty = source_state()
    return {
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "packages": {p: _version(p) for p in PACKAGES},
        "python": platform.python_version(),
        "platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "matmul_precision": str(matmul_precision),
        "git_commit": commit,
        "git_dirty": dirty,
        "hostname": socket.gethostname(),
    }


def _path(workdir: str) -> str:
    return os.path.join(workdir, FILENAME)


def _save(workdir: str, runs: list[dict]) -> None:
    tmp = f"{_path(workdir)}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump({"runs": runs}, f, indent=2, sort_keys=True)
    os.replace(tmp, _path(workdir))  # a crash mid-write leaves the old file, never half of one


def read(workdir: str) -> list[dict]:
    if not os.path.exists(_path(workdir)):
        return []
    with open(_path(workdir)) as f:
        return json.load(f)["runs"]


def write(workdir: str, info: dict) -> None:
    """The record of a fresh run."""
    _save(workdir, [info])


def differences(old: dict, new: dict) -> dict[str, list]:
    """{what: [old, new]} for the packages and settings that differ."""
    diff = {}
    packages = set(old.get("packages", {})) | set(new.get("packages", {}))
    for p in sorted(packages):
        a, b = old.get("packages", {}).get(p), new.get("packages", {}).get(p)
        if a != b:
            diff[p] = [a, b]
    for key in _COMPARED:
        if old.get(key) != new.get(key):
            diff[key] = [old.get(key), new.get(key)]
    return diff


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def check_resume(workdir: str, info: dict, warn: Callable[[str], None] = _stderr) -> dict[str, list]:
    """Appends a resumed process's record and warns, in one line, about what differs from the
    process that last worked on the run. Returns those differences."""
    runs = read(workdir)
    diff = differences(runs[-1], info) if runs else {}
    if diff:
        changes = ", ".join(f"{k} {a} -> {b}" for k, a, b in ((k, *v) for k, v in diff.items()))
        warn(f"warning: resuming {workdir} under a different setup than it last ran with: {changes} "
             f"(both recorded in {FILENAME})")
    _save(workdir, runs + [info])
    return diff
