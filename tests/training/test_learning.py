"""Learning tests: the real configs, three seeds in one vmapped program, asserting the return
every seed reaches (a random policy scores about -1200 on Pendulum)."""
import pytest

from experiments.configs import get_config
from largerl_jax.training import run


def _final(records):
    last = records[-1]["env_steps"]
    return [r for r in records if r["env_steps"] == last]


@pytest.mark.slow
def test_pendulum_sac_learns_on_every_seed():
    cfg = get_config("pendulum_sac")
    assert cfg.total_env_steps == 20_000
    final = _final(run(cfg, num_seeds=3, progress=False))
    assert [r["seed"] for r in final] == [0, 1, 2]
    assert all(r["eval_return"] >= -250 for r in final), final


@pytest.mark.slow
def test_pendulum_td3_learns_on_every_seed():
    cfg = get_config("pendulum_td3")
    assert cfg.total_env_steps == 30_000
    final = _final(run(cfg, num_seeds=3, progress=False))
    assert all(r["eval_return"] >= -250 for r in final), final
