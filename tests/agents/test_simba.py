"""SimBa (agents/simba.py) and its parts, each against its definition: the running observation
statistics against NumPy over a stream, the 'simba' torso against its formula, the parameter
counts of the issue (DMC humanoid), SimBa's update order, AdamW's step, the discount heuristic,
and a tiny run that trains, resumes bit for bit and exports with the normaliser baked in."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments import export as export_cli
from experiments import report as report_cli
from experiments import video
from experiments.configs import get_config
from experiments.configs.scaling import discount
from largerl_jax.agents import agent_config, make_agent
from largerl_jax.export import load_policy
from largerl_jax.networks import QNetwork, torso_config, total_params, trainable
from largerl_jax.networks.heads import GaussianPolicy
from largerl_jax.networks.running_stats import init_stats, normalize, update_stats
from largerl_jax.render import load_policy as video_policy
from largerl_jax.replay import Transition
from largerl_jax.training import run, validate
from largerl_jax.training.run_folder import open_run


def test_running_stats_equal_numpy_over_a_stream():
    rng = np.random.default_rng(0)
    stream = [rng.normal(3.0, 2.0, (n, 5)) * np.arange(1, 6) for n in (1, 4, 4, 7, 1, 32)]
    stats = init_stats(5, initial_count=1e-4)
    update = jax.jit(update_stats)
    for batch in stream:
        stats = update(stats, jnp.asarray(batch, jnp.float32))
    everything = np.concatenate(stream)
    # the initial count of 1e-4 weighs the prior (mean 0, var 1) by 1e-4 / 49 samples
    np.testing.assert_allclose(stats.mean, everything.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats.var, everything.var(0), rtol=1e-4)
    assert float(stats.count) == pytest.approx(len(everything) + 1e-4)
    x = rng.normal(size=(3, 5)).astype(np.float32)
    np.testing.assert_allclose(normalize(stats, x, 1e-8), (x - stats.mean) / np.sqrt(stats.var + 1e-8), rtol=1e-6)


def test_simba_torso_is_its_definition():
    """h = W_in x; h = h + W_2 relu(W_1 LN(h)); LN(h): SimBa's SACEncoder, by hand."""
    cfg = torso_config(arch="simba", width=8, depth=2, kernel_init="orthogonal")
    module = QNetwork(torso=cfg, num_q=1)
    x = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    params = module.init(jax.random.PRNGKey(0), jnp.asarray(x))["params"]
    p = jax.tree.map(lambda a: np.asarray(a)[0], params["ensemble"])

    def ln(h, s):
        mu, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
        return (h - mu) / np.sqrt(var + 1e-6) * s["scale"] + s["bias"]

    t = p["torso"]
    h = x @ t["proj"]["kernel"] + t["proj"]["bias"]
    for i in range(2):
        b = t[f"block_{i}"]
        assert b["up"]["kernel"].shape == (8, 32)  # inner width 4 x width
        y = np.maximum(ln(h, b["up_norm"]) @ b["up"]["kernel"] + b["up"]["bias"], 0)
        h = h + y @ b["down"]["kernel"] + b["down"]["bias"]
    q = ln(h, t["final_norm"]) @ p["out"]["kernel"] + p["out"]["bias"]
    out = module.apply({"params": params}, jnp.asarray(x))
    np.testing.assert_allclose(out[0], q[:, 0], rtol=1e-4, atol=1e-5)
    # embedding orthogonal (gain 1: its 6 rows orthonormal), blocks He-normal (std sqrt(2 / fan_in))
    w = t["proj"]["kernel"]
    np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-5)
    big = QNetwork(torso=torso_config(arch="simba", width=256, depth=1), num_q=1).init(
        jax.random.PRNGKey(0), jnp.zeros((1, 4)))["params"]["ensemble"]["torso"]["block_0"]["up"]["kernel"]
    assert float(np.std(big)) == pytest.approx(np.sqrt(2 / 256), rel=0.05)


def test_parameter_counts_on_dmc_humanoid_match_the_issue():
    """SimBa on DMC humanoid (67 obs, 21 actions): actor 0.146M, one critic 4.25M."""
    cfg = get_config("dmc_humanoid_walk_simba")
    actor = GaussianPolicy(torso=cfg.agent.actor, act_dim=21)
    critic = QNetwork(torso=cfg.agent.critic, num_q=cfg.agent.num_q)
    n_actor = total_params(jax.eval_shape(actor.init, jax.random.PRNGKey(0), jnp.zeros((1, 67))))
    n_critic = total_params(jax.eval_shape(critic.init, jax.random.PRNGKey(0), jnp.zeros((1, 88))))
    assert cfg.agent.num_q == 1
    assert n_actor == pytest.approx(0.146e6, rel=0.02) and n_critic == pytest.approx(4.25e6, rel=0.02)


def test_simba_defaults_are_the_authors():
    a = agent_config("simba")
    assert (a.actor.arch, a.actor.width, a.actor.depth, a.critic.width, a.critic.depth) == ("simba", 128, 1, 512, 2)
    assert (a.actor_lr, a.critic_lr, a.weight_decay, a.alpha_lr, a.init_temperature) == (1e-4, 1e-4, 1e-2, 1e-4, 0.01)
    assert (a.target_entropy_coef, a.tau, a.batch_size, a.critic_loss) == (-0.5, 0.005, 256, "mse_full")
    assert (a.log_std_min, a.log_std_max, a.log_std_bound, a.update_order) == (-10.0, 2.0, "tanh", "actor_first")
    assert a.obs_norm.enabled and a.obs_norm.eps == 1e-8 and a.obs_norm.initial_count == 1e-4
    run_cfg = get_config("dmc_cheetah_run_simba")
    assert (run_cfg.updates_per_iteration, run_cfg.warmup_env_steps, run_cfg.env.action_repeat) == (2, 5000, 2)
    assert run_cfg.total_env_steps == 500_000 and run_cfg.agent.num_q == 1
    assert get_config("hopper_simba").agent.num_q == 2 and get_config("halfcheetah_simba").agent.num_q == 1
    # TD-MPC2's heuristic: clip((L/5 - 1) / (L/5), 0.95, 0.995)
    assert discount(1000, 2) == pytest.approx(0.99) and discount(1000, 1) == 0.995 and discount(100, 1) == 0.95
    assert discount(200, 1) == pytest.approx(0.975)


def _batch(key, obs_dim=3, act_dim=1, n=16):
    k = jax.random.split(key, 3)
    return Transition(obs=jax.random.normal(k[0], (n, obs_dim)), action=jax.random.uniform(k[1], (n, act_dim), minval=-1),
                      reward=jax.random.normal(k[2], (n,)), next_obs=jax.random.normal(k[0], (n, obs_dim)) + 0.1,
                      terminated=jnp.zeros((n,)), truncated=jnp.zeros((n,)))


def _small_sac(**overrides):
    cfg = agent_config("sac")
    cfg.actor.width = cfg.critic.width = 16
    cfg.learn_temperature = True
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


def _flat(tree):
    return np.concatenate([np.ravel(x) for x in jax.tree.leaves(tree)])


def test_actor_first_steps_the_actor_on_the_old_critic_and_the_critic_on_the_new_actor():
    key = jax.random.PRNGKey(3)

    def after(order, **lrs):
        # three updates: Adam's first step is lr * sign(gradient) and hides small differences
        agent = make_agent(_small_sac(update_order=order, **lrs), 3, 1)
        state, update = agent.init(key), jax.jit(agent.update)
        for k in jax.random.split(key, 3):
            state = update(state, _batch(k), k)[0]
        return state

    # critic frozen: both orders step the actor on the same critic
    a, b = after("actor_first", critic_lr=1e-12), after("critic_first", critic_lr=1e-12)
    np.testing.assert_allclose(_flat(a.actor.params), _flat(b.actor.params), rtol=1e-5, atol=1e-7)
    # with a learning critic, critic_first's actor sees the stepped critic, actor_first's does not
    a, b = after("actor_first"), after("critic_first")
    assert np.abs(_flat(a.actor.params) - _flat(b.actor.params)).max() > 1e-6
    # actor and temperature frozen: the critic's target is the same in both orders
    a, b = after("actor_first", actor_lr=1e-12, alpha_lr=1e-12), after("critic_first", actor_lr=1e-12, alpha_lr=1e-12)
    np.testing.assert_allclose(_flat(a.critic.params), _flat(b.critic.params), rtol=1e-5, atol=1e-7)
    # with a learning actor, actor_first's target comes from the stepped actor and temperature
    a, b = after("actor_first"), after("critic_first")
    assert np.abs(_flat(a.critic.params) - _flat(b.critic.params)).max() > 1e-6
    assert np.abs(float(a.log_alpha) - float(b.log_alpha)) < 1e-7  # the temperature's step reads the actor's logp


def test_adamw_step_is_decoupled_weight_decay():
    params = {"w": jnp.array([1.0, -2.0, 0.5])}
    grads = {"w": jnp.array([0.1, 0.2, -0.3])}
    opt = trainable.Optimizer(weight_decay=0.01)
    tx = opt.transform(1e-3)
    updates, _ = tx.update(grads, opt.init(params), params)
    adam, _ = optax.adam(1e-3).update(grads, optax.adam(1e-3).init(params), params)
    # AdamW: p <- p - lr (adam direction + wd p)
    np.testing.assert_allclose(updates["w"], adam["w"] - 1e-3 * 0.01 * params["w"], rtol=1e-6)
    plain = trainable.Optimizer()
    assert jax.tree.structure(plain.init(params)) == jax.tree.structure(optax.adam(0.0).init(params))


def test_bad_simba_settings_are_one_line_errors():
    cfg = get_config("pendulum_simba")
    cfg.agent.update_order = "sideways"
    with pytest.raises(ValueError, match="agent.update_order='sideways' not one of"):
        validate(cfg)
    cfg = get_config("pendulum_simba")
    cfg.agent.obs_norm.eps = 0.0
    with pytest.raises(ValueError, match="agent.obs_norm.eps=0.0 must be a positive number"):
        validate(cfg)


def _tiny():
    cfg = get_config("pendulum_simba")
    cfg.agent.actor.width, cfg.agent.critic.width, cfg.agent.batch_size = 8, 8, 32
    cfg.env.num_envs, cfg.env.eval_episodes = 2, 1
    cfg.total_env_steps, cfg.warmup_env_steps, cfg.replay_capacity = 600, 200, 600
    cfg.log_every_env_steps = cfg.eval_every_env_steps = cfg.checkpoint_every_env_steps = 200
    cfg.updates_per_iteration, cfg.srank_batch_size = 2, 0
    return cfg


def test_a_tiny_run_normalises_resumes_exactly_and_exports_the_normaliser(tmp_path, capsys):
    cfg = _tiny()
    full = run(cfg, workdir=str(tmp_path / "full"), num_seeds=2, progress=False)
    part = tmp_path / "part"
    run(cfg, workdir=str(part), num_seeds=2, progress=False, stop_after_env_steps=400)
    resumed = run(cfg, workdir=str(part), num_seeds=2, resume=True, progress=False)
    assert [(r["seed"], r["env_steps"]) for r in resumed] == [(r["seed"], r["env_steps"]) for r in full]
    for a, b in zip(full, resumed):
        for k in ("eval_return", "critic_loss", "actor_loss"):
            if k in a:
                assert a[k] == b[k], (k, a, b)

    restored = open_run(str(tmp_path / "full")).restore(1)
    stats = restored.state.obs_stats
    # every acted-on observation of the 600 steps of 2 envs went in, warm-up included
    assert float(stats.count) == pytest.approx(600 + 1e-4)
    cos_sin = np.asarray(stats.mean)[:2]
    assert np.all(np.abs(cos_sin) < 1.0) and np.all(np.asarray(stats.var) > 0)

    out = tmp_path / "policy.npz"
    assert export_cli.main([f"--workdir={tmp_path / 'full'}", f"--out={out}", "--seed-index=1"]) == 0
    capsys.readouterr()
    policy = load_policy(str(out))
    obs = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32) * 3
    expected = restored.agent.act(restored.state, jnp.asarray(obs), jax.random.PRNGKey(0), True)
    np.testing.assert_allclose(policy(obs), np.asarray(expected), atol=1e-5, rtol=0)
    # the normaliser is in the file: without it the actions differ
    bare = restored.agent.act(restored.state.replace(obs_stats=init_stats(3)), jnp.asarray(obs),
                              jax.random.PRNGKey(0), True)
    assert np.abs(np.asarray(bare) - policy(obs)).max() > 1e-3

    # the video's policy is the normalised one too, and a video and a report are written
    acts, _ = video_policy(open_run(str(tmp_path / "full")), 1)
    np.testing.assert_allclose(np.asarray(acts(jnp.asarray(obs))), policy(obs), atol=1e-5, rtol=0)
    clip = tmp_path / "policy.gif"
    assert video.main([f"--workdir={tmp_path / 'full'}", f"--out={clip}", "--max-steps=10", "--width=64",
                       "--height=48"]) == 0 and clip.stat().st_size > 0
    assert report_cli.main([str(tmp_path / "full"), f"--out={tmp_path / 'report'}", "--x=env_steps"]) == 0
    assert "full" in (tmp_path / "report" / "curves.json").read_text()


def _inner(state, field: str):
    """The first state down the wrappers' ``agent`` chain that has ``field``."""
    while not hasattr(state, field):
        state = state.agent
    return state


def test_spectral_norm_on_a_simba_critic_and_ofenet_under_simba_run_end_to_end(tmp_path):
    """The compositions users compare against the 2021 methods: SN on SimBa's critic (its block
    Denses carry spectral vectors) and OFENet features under SimBa and SimbaV2 (normalised
    observations in). SimBa with OFENet (``simba_ofenet``) is the same composition as SimbaV2's on
    a SimBa torso, so its config is validated here, not run: each run compiles for ~30 s."""
    simba_ofenet = get_config("pendulum_simba_ofenet")
    validate(simba_ofenet)
    assert simba_ofenet.agent.features == "ofenet" and simba_ofenet.agent.critic.arch == "simba"
    for name in ("pendulum_simba_sn", "pendulum_simbav2_ofenet"):
        cfg = _tiny()
        composed = get_config(name)
        if name.startswith("pendulum_simbav2"):
            cfg.agent = composed.agent
            cfg.agent.actor.width, cfg.agent.critic.width, cfg.agent.batch_size, cfg.agent.bins = 8, 8, 32, 11
        cfg.agent.critic.spectral_norm = composed.agent.critic.spectral_norm
        cfg.agent.features = composed.agent.features
        cfg.agent.ofenet.units, cfg.agent.ofenet.num_layers, cfg.agent.ofenet.pretrain_updates = 4, 2, 5
        cfg.agent.ofenet.batch_size = cfg.agent.batch_size
        records = run(cfg, workdir=str(tmp_path / name), num_seeds=1, progress=False)
        assert records[-1]["env_steps"] == 600 and np.isfinite(records[-1]["critic_loss"]), name
        state = open_run(str(tmp_path / name)).restore(0).state
        if name.endswith("_sn"):
            spectral = state.agent.critic.state["spectral"]["ensemble"]["torso"]
            assert set(spectral) == {"block_0"} and set(spectral["block_0"]) == {"up", "down"}  # not proj
        else:
            assert np.asarray(_inner(state.agent, "ofe").ofe.net.params["phi_s"]["hidden_0"]["kernel"]).shape[0] == 3
        if name == "pendulum_simbav2_ofenet":
            # the actor reads OFENet's z_s (3 observation dims + 2 layers x 4 units) and the shift feature
            kernel = _inner(state.agent, "actor").actor.params["torso"]["embed"]["hyper_dense"]["kernel"]
            assert np.asarray(kernel).shape[0] == 3 + 2 * 4 + 1
            # exported with its features and normaliser, it acts as the agent
            out = tmp_path / "simbav2_ofenet.npz"
            assert export_cli.main([f"--workdir={tmp_path / name}", f"--out={out}"]) == 0
            restored = open_run(str(tmp_path / name)).restore(0)
            obs = np.random.default_rng(2).normal(size=(8, 3)).astype(np.float32)
            expected = restored.agent.act(restored.state, jnp.asarray(obs), jax.random.PRNGKey(0), True)
            np.testing.assert_allclose(load_policy(str(out))(obs), np.asarray(expected), atol=1e-5, rtol=0)


def test_simbav2_keeps_its_kernels_on_the_sphere_through_a_run_and_resumes_exactly(tmp_path, capsys):
    """SimbaV2 end to end (hyperspherical torso and heads, categorical critic, weight projection,
    observation and reward normalisation, linear learning-rate decay over the run), and its
    policy exported (L2 normalisations, scalers and LERPs as NumPy ops) acting as the agent."""
    cfg = _tiny()
    v2 = get_config("pendulum_simbav2")
    cfg.agent = v2.agent
    cfg.agent.actor.width, cfg.agent.critic.width, cfg.agent.batch_size, cfg.agent.bins = 8, 8, 32, 11
    full = run(cfg, workdir=str(tmp_path / "full"), num_seeds=2, progress=False)
    part = tmp_path / "part"
    run(cfg, workdir=str(part), num_seeds=2, progress=False, stop_after_env_steps=400)
    resumed = run(cfg, workdir=str(part), num_seeds=2, resume=True, progress=False)
    for a, b in zip(full, resumed):
        for k in ("eval_return", "critic_loss", "actor_loss", "reward_scale_divisor"):
            if k in a:
                assert a[k] == b[k], (k, a, b)
    state = open_run(str(tmp_path / "full")).restore(0).state
    nets = state.agent.agent  # obs_norm -> reward_norm -> SimbaV2
    for net in (nets.actor, nets.critic):
        for path, leaf in jax.tree_util.tree_leaves_with_path(net.params):
            if "hyper_dense" in str(path):
                np.testing.assert_allclose(np.linalg.norm(np.asarray(leaf), axis=-2), 1.0, atol=1e-6)
    assert full[-1]["reward_scale_divisor"] > 1.0

    out = tmp_path / "policy.npz"
    assert export_cli.main([f"--workdir={tmp_path / 'full'}", f"--out={out}"]) == 0
    capsys.readouterr()
    policy = load_policy(str(out))
    assert {"l2_normalize", "append_constant", "sub"} <= {op["op"] for op in policy.program}
    restored = open_run(str(tmp_path / "full")).restore(0)
    obs = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32) * 3
    expected = restored.agent.act(restored.state, jnp.asarray(obs), jax.random.PRNGKey(0), True)
    assert np.abs(np.asarray(expected)).max() > 1e-3  # a policy that moves, not a zero output
    np.testing.assert_allclose(policy(obs), np.asarray(expected), atol=1e-5, rtol=0)
