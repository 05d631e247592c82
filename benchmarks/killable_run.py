"""A training run in a child process (``python -m experiments.run``) that can be SIGKILLed at a
chosen moment, and readings of what a kill leaves in its workdir. Used by benchmarks/kill_soak.py.

The readings parse the files themselves rather than calling the library's readers, so that the
soak checks the library instead of agreeing with it by construction.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from largerl_jax.training.run_files.checkpoint import MARKER

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ORBAX_TMP = re.compile(r"^(\d+)\.orbax-checkpoint-tmp")


CHECKPOINT_EVERY = 400


def tiny_pendulum_args(env_steps: int) -> list[str]:
    """pendulum_sac shrunk to seconds: 16-wide nets, an evaluation every 200 env steps and a
    checkpoint every 400, so a resume usually has records past its checkpoint to drop; the
    replay is smaller than the run, so a resumed run must restore a wrapped buffer exactly."""
    return [
        "--config=pendulum_sac",
        f"--config.total_env_steps={env_steps}",
        "--config.warmup_env_steps=400",
        "--config.log_every_env_steps=200",
        "--config.eval_every_env_steps=200",
        f"--config.checkpoint_every_env_steps={CHECKPOINT_EVERY}",
        "--config.agent.actor.width=16",
        "--config.agent.critic.width=16",
        "--config.agent.batch_size=64",
        "--config.env.num_envs=4",
        "--config.env.eval_episodes=2",
        "--config.updates_per_iteration=1",
        "--config.replay_capacity=1000",
    ]


def command(config_args: list[str], workdir: str, seeds: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "experiments.run", *config_args, f"--seeds={seeds}", f"--workdir={workdir}"]
    return cmd + ["--no-progress"] + (["--resume"] if resume else [])


class Child:
    """One training process; its stdout and stderr go to ``log_prefix``.out/.err."""

    def __init__(self, cmd: list[str], env: dict, log_prefix: str):
        self.log_prefix = log_prefix
        self._out = open(f"{log_prefix}.out", "w")
        self._err = open(f"{log_prefix}.err", "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=self._err, env=env, cwd=REPO)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> float:
        """SIGKILLs the process (if still running); returns the seconds since its start."""
        at = self.elapsed()
        if self.running():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.wait()
        return at

    def wait(self, timeout: float | None = None) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.returncode is not None:
                self._out.close()
                self._err.close()

    def stderr(self) -> str:
        with open(f"{self.log_prefix}.err") as f:
            return f.read()


def wait_until(child: Child, condition, timeout: float, poll_s: float = 0.003) -> bool:
    """Polls ``condition()`` until it holds (True) or the child exits or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if not child.running():
            return condition()
        time.sleep(poll_s)
    return False


def complete_lines(path: str) -> int:
    """Newline-terminated lines in ``path`` (0 if absent)."""
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def file_id(path: str) -> int | None:
    """The inode of ``path``: a rewrite through a temporary file and a rename changes it."""
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def read_metrics(path: str) -> tuple[list[dict], bool]:
    """The records of ``path`` and whether it ends in a partial line (which is left out)."""
    if not os.path.exists(path):
        return [], False
    with open(path) as f:
        text = f.read()
    body, _, tail = text.rpartition("\n")
    records = [json.loads(line) for line in body.split("\n") if line.strip()] if body else []
    return records, bool(tail.strip())


def checkpoint_entries(ckpt_dir: str) -> dict[str, tuple]:
    """Every entry of the checkpoint directory, keyed by name, with an identity (inode and
    mtime) that tells a directory written after a snapshot from one that was already there."""
    out = {}
    try:
        names = os.listdir(ckpt_dir)
    except FileNotFoundError:
        return out
    for name in names:
        try:
            st = os.stat(os.path.join(ckpt_dir, name))
        except FileNotFoundError:
            continue
        out[name] = (st.st_ino, st.st_mtime_ns)
    return out


def _is_complete(ckpt_dir: str, name: str) -> bool:
    return os.path.exists(os.path.join(ckpt_dir, name, MARKER))


def complete_steps(ckpt_dir: str) -> list[int]:
    return sorted(int(n) for n in checkpoint_entries(ckpt_dir) if n.isdigit() and _is_complete(ckpt_dir, n))


def torn_entries(ckpt_dir: str) -> dict[str, int]:
    """Unfinished checkpoints, name -> step: Orbax temporary directories (data being written)
    and step directories without the completeness marker (written, not yet marked)."""
    out = {}
    for name in checkpoint_entries(ckpt_dir):
        if m := _ORBAX_TMP.match(name):
            out[name] = int(m.group(1))
        elif name.isdigit() and not _is_complete(ckpt_dir, name):
            out[name] = int(name)
    return out
