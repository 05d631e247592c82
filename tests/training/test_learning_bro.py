"""BRO (Fast) learns Pendulum (the learning tests' threshold, -250 on every one of 3 seeds), with
its reset at env step 2001 inside the run, as a user runs it (see test_learning.py)."""
import pytest

from experiments.configs import get_config
from test_learning import _final_records


@pytest.mark.slow
def test_pendulum_bro_fast_learns_on_every_seed(tmp_path):
    cfg = get_config("pendulum_bro_fast")
    assert cfg.total_env_steps == 8_000 and tuple(cfg.agent.resets.at_env_steps) == (2_001,)
    final = _final_records("pendulum_bro_fast", tmp_path / "run")
    assert final[0]["env_steps"] == 8_000
    assert [r["seed"] for r in final] == [0, 1, 2]
    assert all(r["eval_return"] >= -250 for r in final), final
