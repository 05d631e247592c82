"""SAC with SimBa networks, ours against sbx's ``SimbaPolicy``, on Gymnasium HalfCheetah-v4 and
Ant-v4 with one env: env steps/s of one seed measured in interleaved rounds, and optionally the
evaluation return of each after a short budget.

    python -m benchmarks.simba_vs_sbx [--tasks=halfcheetah,ant] [--rounds=3] [--steps=200]
        [--warmup=5000] [--returns-steps=0] [--eval-episodes=5] [--venv=DIR] [--skip-install]
        [--out=benchmarks/results/simba-vs-sbx-cpu.json]

Run by ``benchmarks.sbx_side_by_side`` (the rounds, the timing and the returns are described
there). Same work on both sides: our ``gym_<task>_simba`` config (actor 1 block of 128, critic 2 blocks
of 512, 2 updates per env step, batch 256, AdamW, observation normalisation) and sbx 0.28's SAC
set to it (benchmarks/peer_runners/sbx_simba.py lists what was changed from sbx's defaults and
what stays sbx's). Exit codes: 0 written (goals may fail: see the report), 2 bad input, 1 a measurement failed.
"""
from __future__ import annotations

import sys

from benchmarks import sbx_side_by_side as side_by_side
from benchmarks.sbx_side_by_side import GYM_NAMES, medians, round_order  # noqa: F401  (this command's API)

METHOD = side_by_side.Method(
    name="simba", module="benchmarks.simba_vs_sbx", doc=__doc__, runner="sbx_simba.py", sbx_label="sbx SimbaPolicy",
    default_out="benchmarks/results/simba-vs-sbx-cpu.json")
RUNNER = METHOD.runner_path
config_name = METHOD.config_name


def main(argv: list[str] | None = None) -> int:
    return side_by_side.main(METHOD, argv)


if __name__ == "__main__":
    sys.exit(main())
