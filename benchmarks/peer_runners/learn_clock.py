"""The timing callback of the peers' runners (loaded by its path inside the peers' virtualenv):
reads the clock once env step ``start_at`` has been collected and when ``learn()`` ends, so the
timed window is the env steps after it, each with its gradient steps."""
from __future__ import annotations

import time


def learn_clock(start_at: int):
    from stable_baselines3.common.callbacks import BaseCallback  # the peers' venv only

    class Clock(BaseCallback):
        t_start = n_start = t_end = n_end = None

        def _on_step(self) -> bool:
            if self.t_start is None and self.num_timesteps >= start_at:
                self.t_start, self.n_start = time.perf_counter(), self.num_timesteps
            return True

        def _on_training_end(self) -> None:
            self.t_end, self.n_end = time.perf_counter(), self.num_timesteps

    return Clock()
