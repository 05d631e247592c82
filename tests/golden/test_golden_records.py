"""Behaviour unchanged, proven: every case of tests/golden/cases.py gives, record for record and
bit for bit, the metrics of the reference commit (golden.reference.COMMIT). A case's reference is
the committed record (tests/golden/records/) when it was computed on a machine and stack like this
one; otherwise the reference commit is checked out of this clone and that case run there first
(all such cases in one interpreter, once per session)."""
import json
import os

import pytest

from golden import reference
from golden.cases import CASES

# one worker for every module that reads the finished golden runs (conftest.case_run)
pytestmark = pytest.mark.xdist_group("golden")


@pytest.fixture(scope="session")
def reference_dirs(tmp_path_factory) -> dict:
    """Case name -> the directory holding its reference record (None: cannot be had here)."""
    dirs = {n: reference.committed_set_for(n) for n in CASES}
    misfits = [n for n, d in dirs.items() if d is None]
    if misfits:
        why = reference.why_not_recomputable()
        dirs.update({n: None for n in misfits} if why else reference.recompute(str(tmp_path_factory.mktemp("golden")), misfits))
        dirs["why"] = why
    return dirs


@pytest.mark.slow
def test_reference_commit_is_the_one_the_records_came_from():
    """The fallback reruns the commit the committed records were made on; and it is older than
    this tree (an ancestor), so the check compares against the past, not a sibling branch."""
    assert len(reference.COMMIT) == 40
    if reference.why_not_recomputable() is None:
        import subprocess

        anc = subprocess.run(["git", "-C", reference.REPO, "merge-base", "--is-ancestor", reference.COMMIT, "HEAD"])
        assert anc.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_records_are_bit_identical_to_the_reference(name, reference_dirs, case_run):
    if reference_dirs[name] is None:  # the one case where this machine cannot say anything: say so loudly
        pytest.skip(f"no committed golden record of {name} fits this machine and the reference cannot be rerun: "
                    f"{reference_dirs['why']}")
    with open(os.path.join(reference_dirs[name], f"{name}.jsonl")) as f:
        want = [json.loads(line) for line in f]
    got = json.loads(json.dumps(case_run(name)[0], sort_keys=True))
    assert [(r.get("point"), r["seed"], r["env_steps"]) for r in got] == [
        (r.get("point"), r["seed"], r["env_steps"]) for r in want]
    for g, w in zip(got, want):
        diff = {k: (g.get(k), w.get(k)) for k in sorted(set(g) | set(w)) if g.get(k) != w.get(k)}
        assert not diff, f"{name} seed {g['seed']} at {g['env_steps']} env steps: (now, reference) {diff}"
