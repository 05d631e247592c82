"""The peers' virtualenv: torch (CPU build), Stable-Baselines3, sbx and Gymnasium, kept apart
from ours so that their pins cannot change the packages we benchmark.

torch==2.13.0 goes in first and alone, refused if pip's plan holds any CUDA package (several
GB); then stable-baselines3, sbx-rl and gymnasium[mujoco]==1.4.0 in one resolution under a
constraint that keeps that torch; ``pip check`` must pass.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.json_subprocess import BenchmarkError, output_tail, run_json

DEFAULT_VENV = os.path.join("~", ".cache", "largerl-jax", "peers-venv")
TORCH_SPEC = "torch==2.13.0"
PEER_SPECS = ("stable-baselines3", "sbx-rl", "gymnasium[mujoco]==1.4.0")
PEER_VERSION_PACKAGES = (
    "torch", "stable-baselines3", "sbx-rl", "jax", "jaxlib", "flax", "optax", "gymnasium", "mujoco", "numpy",
    "tfp-nightly",
)
PACKAGE_VERSIONS_SCRIPT = Path(__file__).resolve().parent / "package_versions.py"


class InstallError(BenchmarkError):
    pass


def venv_python(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def _pip(venv: str, args: list[str], what: str) -> str:
    cmd = [venv_python(venv), "-m", "pip", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InstallError(
            f"installing {what} into {venv} failed (exit {proc.returncode}).\n"
            f"command: {' '.join(cmd)}\npip's output (tail):\n{output_tail(proc.stdout + proc.stderr)}"
        )
    return proc.stdout


def _installed(venv: str) -> dict:
    out = _pip(venv, ["list", "--format=json"], "(listing packages)")
    return {d["name"].lower(): d["version"] for d in json.loads(out)}


def cuda_packages(names) -> list[str]:
    """Names that would mean pip picked a CUDA build of torch."""
    return sorted(n for n in names if n.lower().startswith("nvidia-") or n.lower() in ("triton", "pytorch-triton"))


def ensure_peers_venv(venv: str, skip_install: bool, log=print) -> dict:
    """Creates/updates the peers' virtualenv; returns {'install_s', 'pip_check', 'versions'}."""
    if skip_install:
        if not os.path.exists(venv_python(venv)):
            raise InstallError(f"--skip-install: no virtualenv at {venv}; run once without --skip-install")
        log(f"reusing the peers' virtualenv {venv}")
        return {"install_s": None, "pip_check": _pip_check(venv), "versions": peer_versions(venv)}
    t0 = time.perf_counter()
    if not os.path.exists(venv_python(venv)):
        log(f"creating the peers' virtualenv {venv}")
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        if proc.returncode != 0:
            raise InstallError(f"creating the virtualenv {venv} failed:\n{output_tail(proc.stdout + proc.stderr)}")
    torch_version = _install_cpu_torch(venv, log)
    constraints = os.path.join(venv, "peers-constraints.txt")
    with open(constraints, "w") as f:
        f.write(f"torch=={torch_version}\n")
    # One resolution for all three, so no package is installed and then replaced.
    log(f"pip install {' '.join(PEER_SPECS)} (torch pinned to {torch_version})")
    _pip(venv, ["install", "-c", constraints, *PEER_SPECS], " + ".join(PEER_SPECS))
    installed = _installed(venv)
    bad = cuda_packages(installed)
    if bad or installed.get("torch") != torch_version:
        raise InstallError(f"torch changed after installing the peers (torch {installed.get('torch')}, extra {bad})")
    install_s = time.perf_counter() - t0
    log(f"peers' virtualenv ready in {install_s:.0f} s")
    return {"install_s": round(install_s, 1), "pip_check": _pip_check(venv), "versions": peer_versions(venv)}


def _install_cpu_torch(venv: str, log) -> str:
    """Installs TORCH_SPEC after checking that pip's plan is the CPU build; returns its version."""
    log(f"pip install {TORCH_SPEC} (checking pip's plan first)")
    with tempfile.TemporaryDirectory() as tmp:
        report_path = os.path.join(tmp, "report.json")
        _pip(venv, ["install", "--dry-run", "--quiet", "--report", report_path, TORCH_SPEC], TORCH_SPEC)
        with open(report_path) as f:
            plan = [item["metadata"]["name"] for item in json.load(f).get("install", [])]
    bad = cuda_packages(plan)
    if bad:
        raise InstallError(
            f"pip would install CUDA packages with {TORCH_SPEC}: {bad}. Refusing (several GB); "
            "this machine's pip index should serve the CPU wheel"
        )
    _pip(venv, ["install", TORCH_SPEC], TORCH_SPEC)
    return _installed(venv)["torch"]


def _pip_check(venv: str) -> str:
    proc = subprocess.run([venv_python(venv), "-m", "pip", "check"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InstallError(f"`pip check` in {venv} is not clean:\n{output_tail(proc.stdout + proc.stderr)}")
    return proc.stdout.strip()


def peer_versions(venv: str) -> dict:
    cmd = [venv_python(venv), "-I", str(PACKAGE_VERSIONS_SCRIPT), *PEER_VERSION_PACKAGES]
    # Isolated (-I: the script's folder is not put on the path) and in a neutral working
    # directory, so nothing of this repository shadows the peers' packages.
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return run_json(cmd, f"reading package versions in {venv}", cwd=tmp)
        except BenchmarkError as e:
            raise InstallError(str(e)) from None
