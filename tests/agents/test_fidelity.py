"""Corrections of issue 8, section 1: each test pins a point where the reproduction of Ota et al.
2021 (and the SAC v1 / TD3 originals it keeps) was found to differ from the papers or the
OFENet reference code."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import get_config, list_configs
from experiments.configs.families import HUBER_DELTA_PER_REWARD_SCALE
from experiments.overrides import apply_overrides
from largerl_jax import replay
from largerl_jax.agents import Agent, agent_config, make_agent
from largerl_jax.networks.trainable import polyak
from largerl_jax.envs import EnvSpec
from largerl_jax.networks import Torso, torso_config
from largerl_jax.replay.kinds import PrioritizedReplay
from largerl_jax.training.learner import Learner
from fake_transitions import gaussian

OBS, ACT, B = 5, 2, 32
TASKS = ("hopper", "walker2d", "halfcheetah", "ant", "humanoid")


# --- 2. TD3 and SAC columns use their original papers' hyperparameters -----------------------


@pytest.mark.parametrize("prefix", ["", "gym_"])
@pytest.mark.parametrize("task", TASKS)
def test_td3_columns_are_fujimoto_2018(prefix, task):
    for variant in ("original", "ofenet"):
        ag = get_config(f"{prefix}{task}_td3_{variant}").agent
        for net in (ag.actor, ag.critic):
            assert (tuple(net.widths), net.activation, net.arch) == ((400, 300), "relu", "mlp")
        assert ag.actor_lr == ag.critic_lr == 1e-3
        assert ag.batch_size == 256  # the one change Ota et al. make (A.4)
        assert (ag.policy_noise, ag.noise_clip, ag.policy_delay, ag.exploration_noise) == (0.2, 0.5, 2, 0.1)
        assert (ag.gamma, ag.tau) == (0.99, 0.005)


@pytest.mark.parametrize("task", TASKS)
def test_sac_columns_are_haarnoja_2018a(task):
    for variant in ("original", "ofenet"):
        cfg = get_config(f"gym_{task}_sac_{variant}")
        ag = cfg.agent
        assert ag.name == "sac_v1"
        for net in (ag.actor, ag.critic, ag.value):
            assert (net.width, net.depth, net.activation, net.widths) == (256, 2, "relu", None)
        assert ag.actor_lr == ag.critic_lr == ag.value_lr == 3e-4
        assert (ag.batch_size, ag.gamma, ag.tau, cfg.updates_per_iteration) == (256, 0.99, 0.005, 1)
        assert ag.reward_scale == (20.0 if task == "humanoid" else 5.0)
        assert cfg.replay_capacity == 1_000_000


def test_td3_width_override_is_not_silently_ignored():
    cfg = get_config("hopper_td3_original")
    with pytest.raises(ValueError, match="widths=None"):  # widths (400, 300) would win
        apply_overrides(cfg, [("agent.actor.width", "64")])
    cfg = apply_overrides(get_config("hopper_td3_original"), [("agent.actor.width", "64"), ("agent.actor.widths", "None")])
    assert (cfg.agent.actor.width, cfg.agent.actor.widths) == (64, None)


# --- 3. OFENet never learns from the prioritized batch ---------------------------------------


def _recording_agent() -> Agent:
    """A stand-in whose state records the mean 'obs' of the batches each function saw."""

    def init(key):
        return {"aux_obs": jnp.float32(0.0), "rl_obs": jnp.float32(0.0)}

    def update(state, batch, key, weights=None):
        metrics = {"critic_loss": jnp.float32(0.0), "priority": jnp.abs(batch.obs[:, 0]) * 100.0 + 1.0}
        return {**state, "rl_obs": batch.obs[:, 0].mean()}, metrics

    def aux_update(state, batch, key):
        return {**state, "aux_obs": batch.obs[:, 0].mean()}, {"ofe_loss": jnp.float32(0.0)}

    return Agent(name="rec", init=init, act=None, update=update, networks=None, aux_update=aux_update)


def test_auxiliary_model_gets_a_uniform_batch_under_prioritized_replay():
    cap, n = 4096, 1
    learner = Learner(_recording_agent(), batch_size=256, updates_per_iteration=1, num_envs=n,
                      replay=PrioritizedReplay(alpha=1.0, beta0=0.4, eps=1e-6, beta_steps=100))
    ts = learner.init_state(jax.random.PRNGKey(0), cap, EnvSpec("x", 1, 1, 10))
    # obs = row index / cap in [0, 1); priorities set so that rows above 0.9 hold almost all mass
    obs = jnp.arange(cap, dtype=jnp.float32)[:, None] / cap
    buf = ts.replay.buffer.replace(obs=obs, valid=jnp.ones(cap, bool).at[-1].set(False),
                                   filled=jnp.full((n,), cap, jnp.int32))
    idx = jnp.arange(cap - 1)
    prio = jnp.where(obs[:-1, 0] > 0.9, 1e4, 1e-3)
    ts = ts.replace(replay=replay.update_priorities(ts.replay.replace(buffer=buf), idx, prio, 1.0, 1e-6))
    ts, _ = jax.jit(learner.learn)(ts)
    assert float(ts.agent["rl_obs"]) > 0.9  # the RL update saw the prioritized batch
    assert 0.4 < float(ts.agent["aux_obs"]) < 0.6  # the auxiliary model a uniform one


def test_ofe_agent_update_leaves_ofenet_to_the_auxiliary_step():
    cfg = agent_config("sac_v1")
    cfg.features = "ofenet"
    cfg.ofenet.num_layers, cfg.ofenet.units = 2, 8
    cfg.batch_size = cfg.ofenet.batch_size = B
    for net in ("actor", "critic", "value"):
        cfg[net].width = 16
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    after, _ = jax.jit(agent.update)(state, gaussian(jax.random.PRNGKey(1), B, OBS, ACT), jax.random.PRNGKey(2))
    for a, b in zip(jax.tree.leaves(after.ofe), jax.tree.leaves(state.ofe)):
        np.testing.assert_array_equal(a, b)
    assert agent.aux_update is not None


# --- 4. Target networks keep their own batch-norm statistics ---------------------------------


def _bn_td3():
    cfg = agent_config("td3")
    for net in (cfg.actor, cfg.critic):
        net.widths, net.width, net.batch_norm = None, 16, True
    cfg.batch_size = B
    cfg.policy_delay = 1  # targets move on every update
    return cfg


def test_td3_targets_polyak_average_their_batch_norm_statistics():
    cfg = _bn_td3()
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    batch = batch.replace(obs=batch.obs * 3.0 + 2.0)  # statistics far from the initial (0, 1)
    new, _ = jax.jit(agent.update)(state, batch, jax.random.PRNGKey(2))
    for target, old_target, online in (
        (new.target_critic, state.target_critic, new.critic),
        (new.target_actor, state.target_actor, new.actor),
    ):
        expected = polyak(old_target.batch_stats, online.state["batch_stats"], cfg.tau)
        for got, want, on in zip(jax.tree.leaves(target.batch_stats), jax.tree.leaves(expected),
                                 jax.tree.leaves(online.state["batch_stats"])):
            np.testing.assert_allclose(got, want, rtol=1e-6)
            assert not np.allclose(got, on)  # not the online statistics


@pytest.mark.parametrize("name", ["sac", "sac_v1"])
def test_sac_targets_have_their_own_statistics_too(name):
    cfg = agent_config(name)
    for net in ("actor", "critic", "value"):
        if net in cfg:
            cfg[net].width, cfg[net].batch_norm = 16, True
    cfg.batch_size = B
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    new, _ = jax.jit(agent.update)(state, gaussian(jax.random.PRNGKey(1), B, OBS, ACT), jax.random.PRNGKey(2))
    target, online = (new.target_value, new.value) if name == "sac_v1" else (new.target_critic, new.critic)
    assert target.batch_stats is not None
    assert not all(np.allclose(a, b) for a, b in zip(jax.tree.leaves(target.batch_stats),
                                                     jax.tree.leaves(online.state["batch_stats"])))


# --- 5. SAC v1's value loss carries the importance weights -----------------------------------


def test_sac_v1_value_loss_is_importance_weighted():
    cfg = agent_config("sac_v1")
    for net in ("actor", "critic", "value"):
        cfg[net].width = 16
    cfg.batch_size = B
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    update = jax.jit(agent.update)
    _, plain = update(state, batch, jax.random.PRNGKey(2))
    _, doubled = jax.jit(lambda s, b, k: agent.update(s, b, k, weights=jnp.full((B,), 2.0)))(state, batch, jax.random.PRNGKey(2))
    np.testing.assert_allclose(doubled["value_loss"], 2.0 * plain["value_loss"], rtol=1e-5)
    np.testing.assert_allclose(doubled["critic_loss"], 2.0 * plain["critic_loss"], rtol=1e-5)


# --- 6. Huber delta at the task's scale ------------------------------------------------------


@pytest.mark.parametrize("name", ["ant_sac_ours", "gym_humanoid_sac_ours", "hopper_td3_ours", "ant_sac_ofe"])
def test_huber_delta_scales_with_the_reward_scale(name):
    ag = get_config(name).agent
    assert ag.critic_loss == "huber"
    assert ag.huber_delta == HUBER_DELTA_PER_REWARD_SCALE * ag.reward_scale
    assert ag.huber_delta >= 10.0  # delta 1 made targets in the thousands a pure L1 loss


# --- 7. Keras layer defaults where the reference code used them ------------------------------


@pytest.mark.parametrize("name", ["ant_sac_original", "gym_hopper_td3_ofenet", "ant_sac_ofe", "hopper_td3_ours"])
def test_paper_configs_use_the_reference_codes_keras_defaults(name):
    ag = get_config(name).agent
    for net in ("actor", "critic", "value"):
        if net in ag:
            assert (ag[net].kernel_init, ag[net].bn_epsilon) == ("glorot_uniform", 1e-3)
    assert (ag.ofenet.kernel_init, ag.ofenet.bn_epsilon) == ("glorot_uniform", 1e-3)


def test_library_configs_keep_flax_defaults_labelled_as_ours():
    ag = get_config("ant_sac").agent
    assert (ag.actor.kernel_init, ag.actor.bn_epsilon) == ("lecun_normal", 1e-5)


def test_kernel_init_and_bn_epsilon_reach_the_layers():
    x = jnp.ones((4, 300))

    def kernel(init):
        torso = Torso(torso_config(width=30, depth=1, kernel_init=init))
        return np.asarray(torso.init(jax.random.PRNGKey(0), x)["params"]["hidden_0"]["kernel"])

    bound = np.sqrt(6.0 / (300 + 30))  # Glorot uniform's limit
    glorot, lecun = kernel("glorot_uniform"), kernel("lecun_normal")
    assert np.abs(glorot).max() <= bound and np.abs(glorot).max() > 0.99 * bound
    np.testing.assert_allclose(glorot.std(), bound / np.sqrt(3.0), rtol=0.03)
    np.testing.assert_allclose(lecun.std(), 1.0 / np.sqrt(300.0), rtol=0.03)  # fan-in only

    def normalized(eps):
        torso = Torso(torso_config(width=8, depth=1, batch_norm=True, bn_epsilon=eps, activation="relu"))
        variables = torso.init(jax.random.PRNGKey(0), jnp.ones((4, 3)))
        return np.asarray(torso.apply(variables, jnp.ones((4, 3)) * 5.0, train=False))

    a, b = normalized(1e-3), normalized(1e-5)
    nonzero = b > 0
    ratio = a[nonzero] / b[nonzero]  # running var 1: x / sqrt(1 + eps)
    np.testing.assert_allclose(ratio, np.sqrt((1 + 1e-5) / (1 + 1e-3)), rtol=1e-5)


# --- 11. One name per experiment --------------------------------------------------------------


def test_ofe_alias_is_only_the_main_job():
    names = set(list_configs())
    assert "ant_sac_ofe" in names
    # the pruning paper's OFE baseline is TASK_xinet_ofe: the infix keeps it apart from Ota et al.'s names
    others = [n for n in names if n.endswith("_ofe") and n != "ant_sac_ofe" and "_ablation_no_" not in n]
    assert not [n for n in others if "_xinet_" not in n]
    with pytest.raises(ValueError, match="unknown config"):
        get_config("hopper_sac_ofe")
