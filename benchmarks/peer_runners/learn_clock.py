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


def timed_learn(model, start_at: int, steps: int) -> tuple[int, float, float]:
    """``model.learn`` over ``start_at + steps`` env steps: (env steps in the timed window, its
    seconds, seconds of the whole ``learn``); SystemExit when the window was not seen."""
    clock = learn_clock(start_at)
    t0 = time.perf_counter()
    model.learn(total_timesteps=start_at + steps, callback=clock)
    learn_s = time.perf_counter() - t0
    if clock.t_start is None or clock.n_end is None or clock.n_end <= clock.n_start:
        raise SystemExit("the timing callback did not see the timed window")
    return clock.n_end - clock.n_start, clock.t_end - clock.t_start, learn_s
