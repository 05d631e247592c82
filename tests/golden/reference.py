"""Where the golden test's reference records come from: the committed set when it was computed
on a machine and stack like this one, else the reference commit itself, checked out of this
clone's history and run here, so that a different CPU or jaxlib never silently drops the proof."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from golden.fingerprint import fingerprint

# The last commit before the issue-18 refactor: the behaviour every later commit must keep.
COMMIT = "d583fdf99cad96afc9888ce0b9f3637cefc4f91c"
HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, "records")
REPO = os.path.dirname(os.path.dirname(HERE))


def _fingerprint_of(records_dir: str) -> dict:
    with open(os.path.join(records_dir, "fingerprint.json")) as f:
        return json.load(f)


def committed_fits() -> bool:
    return _fingerprint_of(COMMITTED) == fingerprint()


def why_not_recomputable() -> str | None:
    """None when the reference commit can be checked out of this clone, else the reason."""
    if shutil.which("git") is None:
        return "git is not installed"
    done = subprocess.run(["git", "-C", REPO, "cat-file", "-e", f"{COMMIT}^{{commit}}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"commit {COMMIT[:7]} is not in this clone (shallow?)"
    return None


def recompute(workdir: str, timeout_s: float = 1800) -> str:
    """Checks the reference commit out into ``workdir``, puts this tree's tests/golden beside its
    code (the cases' text is the same before and after), records every case there in a fresh
    interpreter and returns the records directory."""
    tree = os.path.join(workdir, "reference")
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", COMMIT], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    golden = os.path.join(tree, "tests", "golden")
    shutil.rmtree(golden, ignore_errors=True)
    shutil.copytree(HERE, golden, ignore=shutil.ignore_patterns("records", "__pycache__"))
    out = os.path.join(workdir, "records")
    done = subprocess.run([sys.executable, os.path.join(golden, "record.py"), f"--out={out}"], cwd=tree,
                          capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"recording the reference commit {COMMIT[:7]} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    if _fingerprint_of(out) != fingerprint():  # the subprocess saw another stack: not comparable
        raise RuntimeError(f"the reference ran on {_fingerprint_of(out)}, this process is {fingerprint()}")
    return out
