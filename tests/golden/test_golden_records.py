"""Behaviour unchanged, proven: every case of tests/golden/cases.py gives, record for record and
bit for bit, the metrics recorded on the reference code (tests/golden/records/)."""
import json
import os

import pytest

from golden.cases import CASES, records
from golden.fingerprint import fingerprint

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "records")


def _recorded_on() -> dict:
    with open(os.path.join(HERE, "fingerprint.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", list(CASES))
def test_records_are_bit_identical_to_the_reference(name, tmp_path):
    recorded_on = _recorded_on()
    if fingerprint() != recorded_on:  # other float rounding: the reference says nothing here
        pytest.skip(f"golden records were computed on {recorded_on}, this is {fingerprint()}")
    with open(os.path.join(HERE, f"{name}.jsonl")) as f:
        want = [json.loads(line) for line in f]
    got = json.loads(json.dumps(records(name, str(tmp_path / name)), sort_keys=True))
    assert [(r.get("point"), r["seed"], r["env_steps"]) for r in got] == [
        (r.get("point"), r["seed"], r["env_steps"]) for r in want]
    for g, w in zip(got, want):
        diff = {k: (g.get(k), w.get(k)) for k in sorted(set(g) | set(w)) if g.get(k) != w.get(k)}
        assert not diff, f"{name} seed {g['seed']} at {g['env_steps']} env steps: (now, reference) {diff}"
