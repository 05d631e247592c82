"""Records the golden metrics of every case in tests/golden/cases.py, with the fingerprint of
the machine and stack they were computed on (float results depend on the CPU's instruction set
and on jaxlib):

    python tests/golden/record.py [CASE ...]

Run it only on code whose behaviour is the reference (issue 18: the commit before the refactor)."""
from __future__ import annotations

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from golden.cases import CASES, records  # noqa: E402
from golden.fingerprint import fingerprint  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "records")


def main(names: list[str]) -> int:
    os.makedirs(HERE, exist_ok=True)
    for name in names or list(CASES):
        with tempfile.TemporaryDirectory() as wd:
            recs = records(name, os.path.join(wd, name))
        with open(os.path.join(HERE, f"{name}.jsonl"), "w") as f:
            f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in recs)
        print(f"{name}: {len(recs)} records", flush=True)
    with open(os.path.join(HERE, "fingerprint.json"), "w") as f:
        json.dump(fingerprint(), f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
