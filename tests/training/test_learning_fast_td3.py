"""FastTD3 learns Pendulum (the learning tests' threshold, -250 on every one of 3 seeds), run as a
user runs it (see test_learning.py): 32 envs with their own exploration noise, batches across
the env rings, the categorical critic. Its own file, so the suite's scheduler can put it on
another worker than the other learning tests."""
import pytest

from experiments.configs import get_config
from test_learning import _final_records


@pytest.mark.slow
def test_pendulum_fast_td3_learns_on_every_seed(tmp_path):
    cfg = get_config("pendulum_fast_td3")
    assert (cfg.total_env_steps, cfg.env.num_envs, cfg.agent.name) == (10_240, 32, "fast_td3")
    final = _final_records("pendulum_fast_td3", tmp_path / "run")
    assert final[0]["env_steps"] == 10_240
    assert [r["seed"] for r in final] == [0, 1, 2]
    assert all(r["eval_return"] >= -250 for r in final), final
