"""Host (Gymnasium) loop: evaluation seeds survive a resume; simulator blow-ups reach the metrics."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import get_config
from largerl_jax.training import make_driver

SEEDS = [0, 1]


def _driver():
    cfg = get_config("gym_hopper_sac")
    cfg.agent.actor.width = cfg.agent.critic.width = 8
    cfg.agent.batch_size = 8
    cfg.env.episode_length = 10
    cfg.env.eval_episodes = 1
    return make_driver(cfg, SEEDS)


@pytest.fixture
def state():
    driver = _driver()
    ts = driver.init(jnp.stack([jax.random.PRNGKey(s) for s in SEEDS]), 16)
    driver.close()
    return ts


def _eval_seeds(driver, ts, env_steps: int) -> list[int]:
    """The reset seed each seed's eval env got in one evaluation at ``env_steps``."""
    got = []
    for env in driver.eval_envs:
        env.reset = lambda seed=None, env=env: got.append(seed) or type(env).reset(env, seed)
    driver.evaluate(ts.replace(env_steps=jnp.full((len(SEEDS),), env_steps, jnp.int32)))
    return got


def test_eval_seeds_follow_env_steps_across_a_resume(state):
    first = _driver()
    at_100, at_200 = _eval_seeds(first, state, 100), _eval_seeds(first, state, 200)
    again_100 = _eval_seeds(first, state, 100)
    first.close()
    assert len(set(at_100 + at_200)) == 4, "two evaluations or two seeds share eval episodes"
    assert again_100 == at_100
    # a resumed process has a fresh driver; its next evaluation must not replay the first one's
    resumed = _driver()
    assert _eval_seeds(resumed, state, 200) == at_200
    resumed.close()


def test_blow_ups_reach_env_invalid_steps(state):
    driver = _driver()
    ts, metrics = driver.chunk(state, 1, "warmup")
    assert np.asarray(metrics["env_invalid_steps"]).tolist() == [0.0, 0.0]
    sim = driver.envs[1]._vec.envs[0].unwrapped
    sim.set_state(sim.data.qpos.copy(), np.full_like(sim.data.qvel, 1e10))
    ts, metrics = driver.chunk(ts, 2, "warmup")
    driver.close()
    assert np.asarray(metrics["env_invalid_steps"]).tolist() == [0.0, 1.0]
    assert np.asarray(metrics["train_episodes"]).tolist() == [0.0, 1.0]
