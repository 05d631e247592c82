"""Per test file, the seconds its tests took (setup, call and teardown summed), read by the xdist
scheduler of tests/conftest.py to hand out the longest files first, so that a long file does not
start last and run alone at the end of the suite. Approximate by nature: a file missing from it
(a new one) counts one second per test, and stale figures only change the order.

Refresh from a suite run on the 2-core CI-like machine:

    python -m pytest --durations=0 > LOG; python tests/file_durations.py LOG
"""
from __future__ import annotations

import collections
import json
import os
import re
import sys

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "file_durations.json")
_LINE = re.compile(r"\s*([\d.]+)s (?:call|setup|teardown)\s+((\S+?)::\S+)")


def load() -> dict[str, float]:
    """{test file path relative to the repository root: seconds}; {} when the file is absent."""
    try:
        with open(PATH) as f:
            return json.load(f)["seconds"]
    except (OSError, ValueError, KeyError):
        return {}


def load_tests() -> dict[str, float]:
    """{test node id: seconds}, so that a run that selects some of a file's tests (``-m slow``
    or the default tier) weighs the file by those; {} when absent."""
    try:
        with open(PATH) as f:
            return json.load(f)["tests"]
    except (OSError, ValueError, KeyError):
        return {}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/file_durations.py PYTEST_DURATIONS_LOG", file=sys.stderr)
        return 2
    seconds: dict[str, float] = collections.Counter()
    tests: dict[str, float] = collections.Counter()
    with open(argv[0]) as f:
        for line in f:
            m = _LINE.match(line)
            if m:
                seconds[m.group(3)] += float(m.group(1))
                tests[m.group(2)] += float(m.group(1))
    if not seconds:
        print(f"{argv[0]}: no --durations=0 lines", file=sys.stderr)
        return 2
    with open(PATH, "w") as f:
        json.dump({"source": "pytest --durations=0, summed per file and per test",
                   "seconds": {k: round(v, 1) for k, v in sorted(seconds.items())},
                   "tests": {k: round(v, 2) for k, v in sorted(tests.items())}}, f, indent=1)
        f.write("\n")
    print(f"{PATH}: {len(seconds)} files, {sum(seconds.values()):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
