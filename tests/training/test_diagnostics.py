"""Bjorck et al.'s stability diagnostics in metrics.jsonl: gradient norms, and exact largest
singular values of every Dense layer at evaluation time."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.networks import Torso, dense_singular_values, torso_config
from largerl_jax.training import run
from largerl_jax.training.run_folder import open_run
from fake_transitions import gaussian


def test_singular_values_are_exact_and_use_the_normalized_map():
    x = jnp.ones((2, 6))
    plain = Torso(torso_config(width=8, depth=2))
    variables = plain.init(jax.random.PRNGKey(0), x)
    values = dense_singular_values(variables)
    kernel = np.asarray(variables["params"]["hidden_1"]["kernel"])
    np.testing.assert_allclose(values["hidden_1"], np.linalg.svd(kernel, compute_uv=False)[0], rtol=1e-5)

    sn = Torso(torso_config(width=8, depth=2, spectral_norm="intermediate", sn_iters=50))
    variables = sn.init(jax.random.PRNGKey(0), x)
    _, updated = sn.apply(variables, x, train=True, mutable=["spectral"])  # converge u
    values = dense_singular_values({**variables, **updated})
    np.testing.assert_allclose(values["hidden_1"], 1.0, rtol=1e-4)  # normalized layer
    assert values["hidden_0"] != pytest.approx(1.0)  # the first layer is not normalized


def test_ensemble_kernels_report_the_largest_member():
    agent = make_agent(agent_config("sac"), 3, 1)
    state = agent.init(jax.random.PRNGKey(0))
    _, variables = agent.networks(state)["critic"]
    values = dense_singular_values(variables)
    kernel = np.asarray(variables["params"]["ensemble"]["torso"]["hidden_0"]["kernel"])  # [2, in, out]
    expected = max(np.linalg.svd(k, compute_uv=False)[0] for k in kernel)
    np.testing.assert_allclose(values["ensemble/torso/hidden_0"], expected, rtol=1e-5)


def test_sac_update_periods_and_gradient_norms():
    cfg = agent_config("sac")
    cfg.actor.width = cfg.critic.width = 16
    cfg.batch_size = 16
    cfg.actor_update_every = cfg.target_update_every = 2
    agent = make_agent(cfg, 3, 1)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    batch = gaussian(jax.random.PRNGKey(1), 16, 3, 1)
    s1, m = update(state, batch, jax.random.PRNGKey(2))  # step 0: everything moves
    s2, _ = update(s1, batch, jax.random.PRNGKey(3))  # step 1: critic only
    moved = lambda a, b: not all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    assert moved(s1.actor.params, state.actor.params) and moved(s1.target_critic, state.target_critic)
    assert not moved(s2.actor.params, s1.actor.params) and not moved(s2.target_critic, s1.target_critic)
    assert not moved(s2.log_alpha, s1.log_alpha) and moved(s2.critic.params, s1.critic.params)
    assert float(m["actor_grad_norm"]) > 0 and float(m["critic_grad_norm"]) > 0


def test_spectral_norm_keeps_layers_near_one_while_plain_ones_grow(tiny_pendulum, tmp_path):
    """A short training run of a modern head with and without spectral normalization of its
    intermediate layers: the exact largest singular value of the normalized layers stays near 1
    while the same layers without it grow from their initial value. The target critic, which
    carries no u of its own and is applied with the online critic's (networks/spectral_norm.py),
    is normalised as closely at the end of the run."""

    def trained(spectral: str):
        cfg = tiny_pendulum()
        for net in ("actor", "critic"):
            t = cfg.agent[net]
            t.arch, t.width, t.depth, t.spectral_norm, t.modern_final_norm = "modern", 16, 2, spectral, False
        cfg.agent.actor_lr = cfg.agent.critic_lr = 3e-3
        cfg.log_singular_values = True
        cfg.warmup_env_steps = 400  # the first evaluation (env step 400) sees the initial weights
        return run(cfg, workdir=str(tmp_path / spectral), num_seeds=1, progress=False)

    plain, normalized = trained("none"), trained("intermediate")
    blocks = [f"sv/critic/ensemble/torso/block_{i}/{d}" for i in (0, 1) for d in ("up", "down")]
    growth = [plain[-1][layer] / plain[0][layer] for layer in blocks]
    assert min(growth) > 1.1 and np.mean(growth) > 1.4, growth  # e.g. block_1/down 1.6 -> 3.6
    for layer in blocks:
        # after the first updates the power iteration has caught up: near 1 (one iteration per
        # step lags a little behind weights moving at lr 3e-3)
        assert all(abs(r[layer] - 1.0) < 0.15 for r in normalized[1:]), (layer, [r[layer] for r in normalized])
    # the first (input) and output layers are not normalized and grow in both
    assert normalized[-1]["sv/critic/ensemble/torso/proj"] > 1.3 * normalized[0]["sv/critic/ensemble/torso/proj"]
    assert all(r["actor_grad_norm"] > 0 and r["critic_grad_norm"] > 0 for r in normalized[1:])
    state = open_run(str(tmp_path / "intermediate")).restore(0).state
    target = dense_singular_values({"params": state.target_critic.params, "spectral": state.critic.state["spectral"]})
    for layer in blocks:
        assert abs(float(target[layer.removeprefix("sv/critic/")]) - 1.0) < 0.15, (layer, target)
