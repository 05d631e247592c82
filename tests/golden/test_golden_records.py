"""Behaviour unchanged, proven: every case of tests/golden/cases.py gives, record for record and
bit for bit, the metrics of the reference commit (golden.reference.COMMIT). The reference records
are the committed ones (tests/golden/records/) when they were computed on a machine and stack
like this one; otherwise the reference commit is checked out of this clone and run here first."""
import json
import os

import pytest

from golden import reference
from golden.cases import CASES, records


@pytest.fixture(scope="session")
def reference_records(tmp_path_factory) -> str:
    if reference.committed_fits():
        return reference.COMMITTED
    why = reference.why_not_recomputable()
    if why is not None:  # the one case where this machine cannot say anything: say so loudly
        pytest.skip(f"no committed golden records fit this machine and the reference cannot be rerun: {why}")
    return reference.recompute(str(tmp_path_factory.mktemp("golden")))


def test_reference_commit_is_the_one_the_records_came_from():
    """The fallback reruns the commit the committed records were made on; and it is older than
    this tree (an ancestor), so the check compares against the past, not a sibling branch."""
    assert len(reference.COMMIT) == 40
    if reference.why_not_recomputable() is None:
        import subprocess

        anc = subprocess.run(["git", "-C", reference.REPO, "merge-base", "--is-ancestor", reference.COMMIT, "HEAD"])
        assert anc.returncode == 0


@pytest.mark.parametrize("name", list(CASES))
def test_records_are_bit_identical_to_the_reference(name, reference_records, tmp_path):
    with open(os.path.join(reference_records, f"{name}.jsonl")) as f:
        want = [json.loads(line) for line in f]
    got = json.loads(json.dumps(records(name, str(tmp_path / name)), sort_keys=True))
    assert [(r.get("point"), r["seed"], r["env_steps"]) for r in got] == [
        (r.get("point"), r["seed"], r["env_steps"]) for r in want]
    for g, w in zip(got, want):
        diff = {k: (g.get(k), w.get(k)) for k in sorted(set(g) | set(w)) if g.get(k) != w.get(k)}
        assert not diff, f"{name} seed {g['seed']} at {g['env_steps']} env steps: (now, reference) {diff}"
