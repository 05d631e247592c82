"""Records the golden metrics of every case in tests/golden/cases.py, with the fingerprint of
the machine and stack they were computed on (float results depend on the CPU's instruction set,
on jaxlib and on XLA_FLAGS):

    python tests/golden/record.py [--out=DIR] [--workdir=RUN] [CASE ...]

(default DIR: records/<today's date>/, a new record set beside the committed ones; RUN keeps the
run's folder, for one case, as the golden test's cases run in their own interpreter need)

It imports the package of the tree it lies in (tests/golden/../..), not an installed one, so a
copy of this directory inside an older checkout records that checkout's behaviour: the golden
test does exactly that with the reference commit when no committed record set fits the machine.
Run it into records/ only on code whose behaviour is the reference (issue 18: the commit before
the refactor, golden.reference.COMMIT)."""
from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(TESTS), TESTS]  # this tree's package first, then its test helpers

from golden.cases import CASES, records  # noqa: E402
from golden.fingerprint import fingerprint  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "records", datetime.date.today().isoformat())


def main(argv: list[str]) -> int:
    out, keep = HERE, None
    names = []
    for a in argv:
        if a.startswith("--out="):
            out = a.split("=", 1)[1]
        elif a.startswith("--workdir="):
            keep = a.split("=", 1)[1]
        elif a in CASES:
            names.append(a)
        else:
            print(f"record.py: unknown case or flag {a!r}; cases: {', '.join(CASES)}", file=sys.stderr)
            return 2
    if keep and len(names) != 1:
        print("record.py: --workdir keeps the run of exactly one named case", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    for name in names or list(CASES):
        if keep:
            recs = records(name, keep)
        else:
            with tempfile.TemporaryDirectory() as wd:
                recs = records(name, os.path.join(wd, name))
        with open(os.path.join(out, f"{name}.jsonl"), "w") as f:
            f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in recs)
        print(f"{name}: {len(recs)} records", flush=True)
    with open(os.path.join(out, "fingerprint.json"), "w") as f:
        json.dump(fingerprint(), f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
