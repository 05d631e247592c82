"""CrossQ (agents.crossq): the authors' defaults, no target network, one joint critic pass whose
batch renormalization statistics are those of both halves, and the policy delay."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import get_config
from experiments.inspect import network_tables
from fake_transitions import gaussian
from largerl_jax.agents import agent_config, make_agent
from largerl_jax.networks import tanh_gaussian_sample

OBS, ACT, B = 3, 2, 16


def _tiny():
    cfg = agent_config("crossq")
    cfg.actor.width, cfg.critic.width, cfg.batch_size = 8, 16, B
    return cfg


def test_defaults_are_the_authors():
    cfg = agent_config("crossq")
    assert (cfg.critic.width, cfg.critic.depth, cfg.actor.width, cfg.actor.depth) == (2048, 2, 256, 2)
    assert cfg.critic.batch_renorm and cfg.actor.batch_renorm and cfg.critic.brn_warmup_steps == 100_000
    assert cfg.actor_lr == cfg.critic_lr == cfg.alpha_lr == 1e-3 and cfg.adam_b1 == 0.5
    assert cfg.actor_update_every == 3 and cfg.init_temperature == 1.0 and cfg.target_entropy_coef == -1.0
    state = jax.eval_shape(make_agent(cfg, OBS, ACT).init, jax.random.PRNGKey(0))
    assert not hasattr(state, "target_critic")  # no target network


def test_the_joint_pass_normalises_both_halves_with_one_set_of_statistics():
    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT).replace(next_obs=gaussian(jax.random.PRNGKey(2), B, OBS, ACT).obs + 3.0)
    key = jax.random.PRNGKey(3)
    new, _ = jax.jit(agent.update)(state, batch, key)
    # the next actions the update drew: the actor in evaluation mode, the update's k_next
    k_next, _ = jax.random.split(key)
    (mean, log_std), _ = state.actor.apply(batch.next_obs, train=False)
    next_act, _ = tanh_gaussian_sample(mean, log_std, k_next)
    sa = np.concatenate([batch.obs, batch.action], -1)
    joint = np.concatenate([sa, np.concatenate([batch.next_obs, next_act], -1)], 0)
    stats = new.critic.state["batch_stats"]["ensemble"]["torso"]["input_renorm"]
    # one training-mode call (momentum 0.99 from mean 0, var 1) over both halves, in every member
    np.testing.assert_allclose(np.asarray(stats["mean"]), np.broadcast_to(0.01 * joint.mean(0), stats["mean"].shape),
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(stats["var"]), np.broadcast_to(0.99 + 0.01 * joint.var(0), stats["var"].shape),
                               atol=1e-5)
    assert int(np.asarray(stats["steps"]).max()) == 1
    assert not np.allclose(0.01 * sa.mean(0), 0.01 * joint.mean(0), atol=1e-3)  # the halves differ: the test can tell


def test_actor_and_temperature_step_every_third_update():
    """The policy delay, and on the skipped steps NaN actor metrics that the divergence guard
    skips (a guard reading them stopped every seed of a run at its first skipped step)."""
    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    changed = []
    for i in range(6):
        new, metrics = update(state, gaussian(jax.random.PRNGKey(10 + i), B, OBS, ACT), jax.random.PRNGKey(i))
        moved = lambda a, b: any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))  # noqa: E731
        changed.append((moved(state.actor.params, new.actor.params), bool(new.log_alpha != state.log_alpha),
                        moved(state.critic.params, new.critic.params)))
        state = new
        assert np.isfinite(float(metrics["critic_loss"]))
        # the actor's metrics are NaN on skipped steps, so the divergence guard must skip them
        assert {k for k, v in metrics.items() if not np.all(np.isfinite(v))} <= set(agent.optional_metrics)
    assert [c[0] for c in changed] == [True, False, False, True, False, False]
    assert [c[1] for c in changed] == [True, False, False, True, False, False]
    assert all(c[2] for c in changed)  # the critic steps every update


def test_inspect_shows_the_critics_at_2x2048():
    tables = network_tables(get_config("gym_ant_crossq"))
    critic = [row for row in tables["networks"]["critic"]["layers"] if "torso/hidden_" in row["name"]]
    assert [(row["out"], row.get("ensemble")) for row in critic if not row["name"].endswith("renorm")] == [(2048, 2)] * 2
    assert tables["networks"]["actor"]["params"] < 0.2e6 < 8e6 < tables["networks"]["critic"]["params"]
    names = [row["name"] for row in tables["networks"]["critic"]["layers"]]
    assert names[0].endswith("input_renorm") and names[-1].endswith("out")  # rows from input to output
