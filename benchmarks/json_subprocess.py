"""Running a benchmark's child process and reading the JSON line it prints last."""
from __future__ import annotations

import json
import subprocess


class BenchmarkError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def output_tail(text: str, lines: int = 25) -> str:
    # pip repeats "Location ... is ignored" for every local index that lacks a package: noise.
    kept = [l for l in text.splitlines() if "is ignored: it is neither a file nor a directory" not in l]
    return "\n".join(kept[-lines:])


def last_json_line(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def run_json(cmd: list[str], what: str, cwd: str | None = None, timeout: float | None = None) -> dict:
    """Runs ``cmd`` and returns the JSON object of its last JSON line, or raises BenchmarkError
    with the command's stderr tail."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{what} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise BenchmarkError(
            f"{what} failed (exit {proc.returncode}).\ncommand: {' '.join(cmd)}\n"
            f"stderr (tail):\n{output_tail(proc.stderr, 40)}"
        )
    try:
        return last_json_line(proc.stdout)
    except ValueError as e:
        raise BenchmarkError(f"{what}: {e}; stdout tail:\n{output_tail(proc.stdout)}") from None
