"""CrossQ, ours against sbx's ``CrossQ``, on Gymnasium HalfCheetah-v4 and Ant-v4 with one env:
env steps/s of one seed measured in interleaved rounds, and optionally the evaluation return of
each after a short budget (issue 21).

    python -m benchmarks.crossq_vs_sbx [--tasks=halfcheetah,ant] [--rounds=3] [--steps=200]
        [--warmup=5000] [--returns-steps=0] [--eval-episodes=5] [--venv=DIR] [--skip-install]
        [--out=benchmarks/results/crossq-vs-sbx-cpu.json]

Run by ``benchmarks.sbx_side_by_side`` (the rounds, the timing and the returns are described
there). Same work on both sides: our ``gym_<task>_crossq`` config with its critics at sbx's
width, 2 x 1024 (``--config.agent.critic.width=1024``; the authors' 2048 is our default), and
sbx 0.28's CrossQ set to it (benchmarks/peer_runners/sbx_crossq.py lists what was changed from
sbx's defaults and what stays sbx's). Exit codes: 0 written (goals may fail: see the report), 2
bad input, 1 a measurement failed.
"""
from __future__ import annotations

import sys

from benchmarks import sbx_side_by_side as side_by_side
from benchmarks.sbx_side_by_side import GYM_NAMES, medians, round_order  # noqa: F401  (this command's API)

SBX_CRITIC_WIDTH = 1024  # sbx's CrossQ net_arch qf [1024, 1024] (sbx/crossq/policies.py)
METHOD = side_by_side.Method(
    name="crossq", module="benchmarks.crossq_vs_sbx", doc=__doc__, runner="sbx_crossq.py", sbx_label="sbx CrossQ",
    default_out="benchmarks/results/crossq-vs-sbx-cpu.json",
    overrides=(f"--config.agent.critic.width={SBX_CRITIC_WIDTH}",))
RUNNER = METHOD.runner_path
config_name = METHOD.config_name


def main(argv: list[str] | None = None) -> int:
    return side_by_side.main(METHOD, argv)


if __name__ == "__main__":
    sys.exit(main())
