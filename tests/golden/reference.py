"""Where the golden test's reference records come from: for each case, a committed record set
computed on a machine and stack like this one for that case (``records/<set>/``, each with its
fingerprint; a case compares only what it depends on, see ``fingerprint.relevant``), else the
reference commit itself, checked out of this clone's history and run here, so that a different
CPU, package or renderer never silently drops the proof. A new stack's set is recorded from the
reference commit (the fallback's ``recompute``, or record.py in a checkout of it) and committed
beside the others, so CI on that stack compares against it without rerunning the past."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from golden.cases import RENDERED, SIMULATOR, xla_flags
from golden.fingerprint import fingerprint, relevant

# The last commit before the issue-18 refactor: the behaviour every later commit must keep.
COMMIT = "d583fdf99cad96afc9888ce0b9f3637cefc4f91c"
HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, "records")
REPO = os.path.dirname(os.path.dirname(HERE))


def _fingerprint_of(records_dir: str) -> dict:
    with open(os.path.join(records_dir, "fingerprint.json")) as f:
        return json.load(f)


def fits(name: str, records_dir: str) -> bool:
    """Whether the records in ``records_dir`` were computed where case ``name`` gives the same
    bits as here, under the XLA flags the case runs with (golden.cases.xla_flags)."""
    render, packages = name in RENDERED, SIMULATOR.get(name, ())
    here = dict(fingerprint(render), xla_flags=xla_flags(name))
    return relevant(_fingerprint_of(records_dir), packages, render) == relevant(here, packages, render)


def committed_sets() -> list[str]:
    """The committed record sets, newest first (a set is named by the date it was recorded)."""
    sets = [os.path.join(COMMITTED, d) for d in os.listdir(COMMITTED)
            if os.path.exists(os.path.join(COMMITTED, d, "fingerprint.json"))]
    return sorted(sets, reverse=True)


def committed_set_for(name: str) -> str | None:
    """The newest committed record set that holds case ``name`` and fits this machine, or None."""
    for d in committed_sets():
        if os.path.exists(os.path.join(d, f"{name}.jsonl")) and fits(name, d):
            return d
    return None


def why_not_recomputable() -> str | None:
    """None when the reference commit can be checked out of this clone, else the reason."""
    if shutil.which("git") is None:
        return "git is not installed"
    done = subprocess.run(["git", "-C", REPO, "cat-file", "-e", f"{COMMIT}^{{commit}}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"commit {COMMIT[:7]} is not in this clone (shallow?)"
    return None


def recompute(workdir: str, names: list[str], timeout_s: float = 1800) -> dict[str, str]:
    """Checks the reference commit out into ``workdir``, puts this tree's tests/golden beside its
    code (the cases' text is the same before and after), records cases ``names`` there in fresh
    interpreters with this process's environment, one per set of XLA flags the cases run under
    (golden.cases.xla_flags), and returns each case's records directory."""
    tree = os.path.join(workdir, "reference")
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", COMMIT], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    golden = os.path.join(tree, "tests", "golden")
    shutil.rmtree(golden, ignore_errors=True)
    shutil.copytree(HERE, golden, ignore=shutil.ignore_patterns("records", "__pycache__"))
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(xla_flags(n), []).append(n)
    dirs = {}
    for i, (flags, group) in enumerate(groups.items()):
        out = os.path.join(workdir, f"records{i}")  # a record set has one fingerprint, so one per group
        done = subprocess.run([sys.executable, os.path.join(golden, "record.py"), f"--out={out}", *group], cwd=tree,
                              env=dict(os.environ, XLA_FLAGS=flags), capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"recording the reference commit {COMMIT[:7]} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
        misfits = [n for n in group if not fits(n, out)]  # the subprocess saw another stack: not comparable
        if misfits:
            raise RuntimeError(f"the reference ran on {_fingerprint_of(out)}, this process is {fingerprint()}")
        dirs.update({n: out for n in group})
    return dirs
