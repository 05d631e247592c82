"""The envs of all seeds step as one batch, so an env's 'reset only if an episode ended' branch
runs on the steps where one ended, not on every step as it would under a vmap over seeds."""
import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents import make_agent
from largerl_jax.envs import PendulumVecEnv
from largerl_jax.training import DeviceLoop, Learner
from experiments.configs import get_config

EPISODE = 5


class CountingResets(PendulumVecEnv):
    """Pendulum whose reset runs in a cond (as Brax's does) and reports each time it runs."""

    calls: list

    def step(self, state, action):
        new, res = super().step(state, action)

        def reset_branch(obs):
            jax.debug.callback(lambda: self.calls.append(1))
            return obs

        obs = jax.lax.cond(jnp.any(res.truncated > 0), reset_branch, lambda o: o, new.obs)
        return new.replace(obs=obs), res


def _env():
    env = CountingResets(2, episode_length=EPISODE)
    env.calls = []
    return env


def test_folded_seeds_reset_only_when_an_episode_ended():
    env = _env()
    cfg = get_config("pendulum_sac")
    cfg.agent.actor.width = cfg.agent.critic.width = 8
    agent = make_agent(cfg.agent, 3, 1)
    loop = DeviceLoop(learner=Learner(agent, 8, 1, num_envs=2), env=env, eval_env=PendulumVecEnv(1))
    ts = jax.vmap(lambda k: loop.init_one(k, 100))(jnp.stack([jax.random.PRNGKey(s) for s in range(3)]))
    ts, _ = jax.jit(lambda s: loop.chunk(s, 4 * EPISODE, "warmup"))(ts)
    jax.block_until_ready(ts)
    jax.effects_barrier()
    # every env of every seed started together, so episodes end together every EPISODE steps
    assert len(env.calls) == 4
    assert np.asarray(ts.env.t).tolist() == [[0, 0]] * 3


def test_a_vmap_over_seeds_would_reset_on_every_step():
    """What the fold avoids (and what this test file would catch)."""
    env = _env()
    state = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 3))

    def body(s, _):
        s, _ = jax.vmap(env.step)(s, jnp.zeros((3, 2, 1)))
        return s, None

    jax.block_until_ready(jax.jit(lambda s: jax.lax.scan(body, s, None, length=4 * EPISODE))(state))
    jax.effects_barrier()
    assert len(env.calls) == 4 * EPISODE
