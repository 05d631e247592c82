"""metrics.jsonl: one JSON object per seed and evaluation, safe against the process being killed.

Appends reach the disk before the checkpoint that follows them, so a resumed run finds every
record up to its checkpoint. A kill mid-append can leave a partial last line; readers drop it
with a message. Rewrites (truncation on resume) go through a temporary file and a rename, so the
file is always either the old or the new version, never a mix.
"""
from __future__ import annotations

import json
import os
import sys


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lines(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def append(path: str, records: list[dict]) -> None:
    with open(path, "a") as f:
        f.write(_lines(records))
        f.flush()
        os.fsync(f.fileno())


def write(path: str, records: list[dict]) -> None:
    """Replaces the file's content with ``records`` atomically."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(_lines(records))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path)


def read(path: str) -> list[dict]:
    """Every record in ``path`` ([] if it does not exist). A partial last line, as a kill during an
    append leaves, is dropped with a message; a bad line anywhere else is an error."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
            out.append(record)
        except ValueError:  # JSONDecodeError is one
            if i == len(lines) - 1:  # no newline after it: the append was cut short
                print(f"metrics: dropping a partial last line of {path} ({len(line)} chars)", file=sys.stderr, flush=True)
                continue
            raise ValueError(f"{path}:{i + 1} is not a JSON record: {line[:120]!r}") from None
    return out


def truncate_to(path: str, env_steps: int) -> list[dict]:
    """Keeps the records with ``env_steps`` <= the given one (those of a restored checkpoint),
    rewriting the file atomically, and returns them."""
    kept = [r for r in read(path) if r["env_steps"] <= env_steps]
    write(path, kept)
    return kept
