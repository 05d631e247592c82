"""BRO (agents/bro.py) and its parts against their definitions: the BroNet torso by hand, the
parameter counts of the issue (DMC humanoid), the adjustments' parameterisation, resets that
restore exactly the configured fields of every seed at the configured step and nothing else,
and a tiny run with a reset in the middle, resumed across it bit for bit and exported."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import export as export_cli
from experiments.configs import get_config
from largerl_jax.agents import agent_config, make_agent
from largerl_jax.agents.bro import adjustment_raw, adjustment_value
from largerl_jax.export import load_policy
from largerl_jax.networks import GaussianPolicy, QNetwork, torso_config, total_params
from largerl_jax.render import load_policy as video_policy
from largerl_jax.replay import Transition
from largerl_jax.training import run, validate
from largerl_jax.training.run_folder import open_run


def _ln(h, s, eps=1e-6):
    mu, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    return (h - mu) / np.sqrt(var + eps) * s["scale"] + s["bias"]


def test_bronet_torso_is_its_definition():
    """h = relu(LN(W_in x)); h = h + LN(W_2 relu(LN(W_1 h))): BRO's BroNet, by hand."""
    cfg = torso_config(arch="bronet", width=8, depth=2, kernel_init="orthogonal_sqrt2")
    module = QNetwork(torso=cfg, num_q=1, outputs=3)
    x = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    params = module.init(jax.random.PRNGKey(0), jnp.asarray(x))["params"]
    p = jax.tree.map(lambda a: np.asarray(a)[0], params["ensemble"])
    t = p["torso"]
    h = np.maximum(_ln(x @ t["proj"]["kernel"] + t["proj"]["bias"], t["proj_norm"]), 0)
    for i in range(2):
        b = t[f"block_{i}"]
        y = np.maximum(_ln(h @ b["up"]["kernel"] + b["up"]["bias"], b["up_norm"]), 0)
        h = h + _ln(y @ b["down"]["kernel"] + b["down"]["bias"], b["down_norm"])
    q = h @ p["out"]["kernel"] + p["out"]["bias"]
    out = module.apply({"params": params}, jnp.asarray(x))
    assert out.shape == (1, 5, 3)
    np.testing.assert_allclose(out[0], q, rtol=1e-4, atol=1e-5)
    w = t["block_0"]["up"]["kernel"]  # orthogonal with gain sqrt 2
    np.testing.assert_allclose(w.T @ w, 2 * np.eye(8), atol=1e-5)


def test_parameter_counts_on_dmc_humanoid_match_the_issue():
    """BRO on DMC humanoid (67 obs, 21 actions): actor 0.16M, critics 2.3M in all."""
    cfg = get_config("dmc_humanoid_walk_bro")
    actor = GaussianPolicy(torso=cfg.agent.actor, act_dim=21)
    critic = QNetwork(torso=cfg.agent.critic, num_q=cfg.agent.num_q, outputs=cfg.agent.n_quantiles)
    n_actor = total_params(jax.eval_shape(actor.init, jax.random.PRNGKey(0), jnp.zeros((1, 67))))
    n_critics = total_params(jax.eval_shape(critic.init, jax.random.PRNGKey(0), jnp.zeros((1, 88))))
    assert n_actor == pytest.approx(0.16e6, rel=0.02) and n_critics == pytest.approx(2.3e6, rel=0.02)


def test_bro_defaults_are_the_authors():
    a = agent_config("bro")
    assert (a.actor.arch, a.actor.width, a.actor.depth, a.critic.width, a.critic.depth) == ("bronet", 256, 1, 512, 2)
    assert (a.actor_lr, a.critic_lr, a.alpha_lr, a.adjustment_lr, a.weight_decay) == (3e-4, 3e-4, 3e-4, 3e-5, 1e-4)
    assert (a.n_quantiles, a.pessimism, a.kl_target, a.std_multiplier, a.batch_size) == (100, 0.0, 0.05, 0.75, 128)
    assert (a.init_temperature, a.init_optimism, a.init_kl_weight, a.target_entropy_coef) == (1.0, 1.0, 0.25, -0.5)
    assert tuple(a.resets.at_env_steps) == (15_001, 50_001, 250_001, 500_001, 750_001)
    assert tuple(agent_config("bro_fast").resets.at_env_steps) == (15_001,)
    assert (get_config("hopper_bro").updates_per_iteration, get_config("hopper_bro_fast").updates_per_iteration) == (10, 2)
    assert get_config("dmc_cheetah_run_bro").warmup_env_steps == 2_500


def test_adjustments_start_at_their_initial_values_and_stay_in_bounds():
    for v in (1.0, 0.25, 3.0):
        assert float(adjustment_value(adjustment_raw(v))) == pytest.approx(v, rel=1e-5)
    assert float(adjustment_value(jnp.float32(-50.0))) == pytest.approx(np.exp(-10.0), rel=1e-5)
    assert float(adjustment_value(jnp.float32(50.0))) == pytest.approx(np.exp(7.5), rel=1e-5)


def _tiny_agent_cfg(**resets):
    cfg = agent_config("bro_fast")
    cfg.actor.width = cfg.actor_o.width = cfg.critic.width = 8
    cfg.n_quantiles = 4
    cfg.resets.at_env_steps = (10,)
    for k, v in resets.items():
        cfg.resets[k] = v
    return cfg


def _batch(key, n=8):
    k = jax.random.split(key, 3)
    return Transition(obs=jax.random.normal(k[0], (n, 3)), action=jax.random.uniform(k[1], (n, 1), minval=-1),
                      reward=jax.random.normal(k[2], (n,)), next_obs=jax.random.normal(k[1], (n, 3)),
                      terminated=jnp.zeros((n,)), truncated=jnp.zeros((n,)))


@pytest.mark.parametrize("fields", [(), ("critic", "target_critic")])
def test_a_reset_restores_exactly_the_configured_fields_of_every_seed_at_its_step(fields):
    agent = make_agent(_tiny_agent_cfg(fields=fields), 3, 1)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)  # three seeds, vmapped
    initial = jax.vmap(agent.init)(keys)
    update = jax.jit(jax.vmap(agent.update))
    state = initial
    for i in range(3):
        state = update(state, jax.vmap(_batch)(jax.random.split(jax.random.PRNGKey(i + 1), 3)), keys)[0]
    store = jax.jit(jax.vmap(agent.after_store, in_axes=(0, None, None)))
    same = lambda a, b: all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))  # noqa: E731
    assert same(store(state, 4, 8), state) and same(store(state, 10, 14), state)  # 10 not in (4, 8] nor (10, 14]
    reset = store(state, 8, 12)
    for name in ("actor", "actor_o", "critic", "target_critic", "log_alpha", "optimism", "kl_weight", "step"):
        chosen = not fields or name in fields
        assert same(getattr(reset.agent, name), getattr(initial.agent if chosen else state.agent, name)), name
    assert not same(state.agent.critic, initial.agent.critic)  # the updates did move it
    # each seed gets its own initial weights back
    w = reset.agent.critic.params["ensemble"]["torso"]["proj"]["kernel"]
    assert not np.array_equal(w[0], w[1])


def test_bad_bro_settings_are_one_line_errors():
    cfg = get_config("pendulum_bro_fast")
    cfg.agent.resets.at_env_steps = (0,)
    with pytest.raises(ValueError, match=r"agent.resets.at_env_steps=\(0,\) must be a list of positive env steps"):
        validate(cfg)
    cfg = get_config("pendulum_bro_fast")
    cfg.agent.num_q = 3
    with pytest.raises(ValueError, match="agent.num_q=3 must be 2 for bro_fast"):
        validate(cfg)


def _tiny():
    cfg = get_config("pendulum_bro_fast")
    cfg.agent.actor.width = cfg.agent.actor_o.width = cfg.agent.critic.width = 8
    cfg.agent.batch_size, cfg.agent.n_quantiles = 32, 4
    cfg.agent.resets.at_env_steps = (401,)
    cfg.env.num_envs, cfg.env.eval_episodes = 2, 1
    cfg.total_env_steps, cfg.warmup_env_steps, cfg.replay_capacity = 600, 200, 600
    cfg.log_every_env_steps = cfg.eval_every_env_steps = cfg.checkpoint_every_env_steps = 200
    cfg.updates_per_iteration, cfg.srank_batch_size = 2, 0
    return cfg


def test_a_tiny_run_resets_resumes_across_the_reset_exactly_and_exports(tmp_path, capsys):
    cfg = _tiny()
    full = run(cfg, workdir=str(tmp_path / "full"), num_seeds=2, progress=False)
    part = tmp_path / "part"
    run(cfg, workdir=str(part), num_seeds=2, progress=False, stop_after_env_steps=400)  # the reset is at 401
    resumed = run(cfg, workdir=str(part), num_seeds=2, resume=True, progress=False)
    assert [(r["seed"], r["env_steps"]) for r in resumed] == [(r["seed"], r["env_steps"]) for r in full]
    for a, b in zip(full, resumed):
        for k in ("eval_return", "critic_loss", "actor_loss", "kl", "optimism"):
            if k in a:
                assert a[k] == b[k], (k, a, b)
    # the reset at 401 restarted every counter: 200 env steps of 2 envs after it, 2 updates each
    restored = open_run(str(tmp_path / "full")).restore(0)
    assert int(restored.state.agent.step) == 200
    out = tmp_path / "policy.npz"
    assert export_cli.main([f"--workdir={tmp_path / 'full'}", f"--out={out}"]) == 0
    capsys.readouterr()
    obs = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    expected = restored.agent.act(restored.state, jnp.asarray(obs), jax.random.PRNGKey(0), True)
    np.testing.assert_allclose(load_policy(str(out))(obs), np.asarray(expected), atol=1e-5, rtol=0)
    # experiments.video acts with the same (pessimistic, deterministic) actor
    acts, _ = video_policy(open_run(str(tmp_path / "full")), 0)
    np.testing.assert_allclose(np.asarray(acts(jnp.asarray(obs))), np.asarray(expected), atol=1e-5, rtol=0)
