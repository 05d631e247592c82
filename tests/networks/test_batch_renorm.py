"""BatchRenorm against Ioffe 2017's Alg. 1 computed in NumPy: the warm-up is plain batch norm,
then r and d are clipped and carry no gradient; the running statistics are NumPy's moving
averages of the batches; evaluation mode is the affine map of the running statistics."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fake_transitions import gaussian
from largerl_jax.agents import agent_config, make_agent
from largerl_jax.networks import torso_config
from largerl_jax.networks.batch_renorm import BatchRenorm

EPS = 1e-3


def _batches(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # a shifting, rescaling input distribution, so r and d move away from 1 and 0
    return [(rng.normal(size=(64, 5)) * (1 + 0.5 * i) + 0.7 * i).astype(np.float32) for i in range(n)]


def _reference(batches, warmup: int, momentum=0.99, r_max=3.0, d_max=5.0):
    """Outputs of each training call (scale 1, bias 0) and the running statistics after them."""
    mean, var, outs = np.zeros(5), np.ones(5), []
    for step, x in enumerate(batches):
        x = x.astype(np.float64)
        mb, vb = x.mean(0), x.var(0)
        sb, s = np.sqrt(vb + EPS), np.sqrt(var + EPS)
        r, d = (np.clip(sb / s, 1 / r_max, r_max), np.clip((mb - mean) / s, -d_max, d_max)) if step >= warmup else (1.0, 0.0)
        outs.append((x - mb) / sb * r + d)
        mean, var = momentum * mean + (1 - momentum) * mb, momentum * var + (1 - momentum) * vb
    return outs, mean, var


@pytest.mark.parametrize("warmup", [0, 2, 100])
def test_training_calls_and_running_statistics_match_alg1(warmup):
    layer = BatchRenorm(warmup_steps=warmup, r_max=1.5, d_max=0.5)  # small bounds: the clips bite
    batches = _batches(6)
    variables = layer.init(jax.random.PRNGKey(0), jnp.asarray(batches[0]), train=True)
    stats = variables["batch_stats"]
    assert float(stats["steps"]) == 0 and np.all(np.asarray(stats["var"]) == 1)  # init leaves them alone
    expected, mean, var = _reference(batches, warmup, r_max=1.5, d_max=0.5)
    for x, want in zip(batches, expected):
        y, new = layer.apply({**variables, "batch_stats": stats}, jnp.asarray(x), train=True, mutable=["batch_stats"])
        stats = new["batch_stats"]
        np.testing.assert_allclose(np.asarray(y), want, atol=2e-5, rtol=0)
    np.testing.assert_allclose(np.asarray(stats["mean"]), mean, atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.asarray(stats["var"]), var, atol=1e-5, rtol=0)
    assert int(stats["steps"]) == len(batches)
    if warmup == 0:  # the clips were active: some r at its bound, some d at its bound
        outs_unclipped, _, _ = _reference(batches, 0, r_max=1e9, d_max=1e9)
        assert not np.allclose(outs_unclipped[-1], expected[-1], atol=1e-3)


def test_r_and_d_carry_no_gradient():
    layer = BatchRenorm(warmup_steps=0, r_max=10.0, d_max=10.0)  # unclipped: r and d depend on x
    x = jnp.asarray(_batches(1, seed=3)[0])
    variables = layer.init(jax.random.PRNGKey(0), x, train=True)
    stats = {"mean": jnp.full((5,), 0.3), "var": jnp.full((5,), 2.0), "steps": jnp.asarray(5, jnp.int32)}
    w = jnp.asarray(np.random.default_rng(1).normal(size=(64, 5)), jnp.float32)

    def ours(x):
        y, _ = layer.apply({**variables, "batch_stats": stats}, x, train=True, mutable=["batch_stats"])
        return jnp.sum(y * w)

    mb, vb = x.mean(0), x.var(0)
    r = jnp.sqrt(vb + EPS) / jnp.sqrt(stats["var"] + EPS)
    d = (mb - stats["mean"]) / jnp.sqrt(stats["var"] + EPS)

    def constants_r_d(x):  # r and d as constants: only batch norm's own dependence on x
        m, v = x.mean(0), x.var(0)
        return jnp.sum(((x - m) / jnp.sqrt(v + EPS) * r + d) * w)

    def through_r_d(x):  # what the gradient would be without stop_gradient
        m, v = x.mean(0), x.var(0)
        rr = jnp.sqrt(v + EPS) / jnp.sqrt(stats["var"] + EPS)
        dd = (m - stats["mean"]) / jnp.sqrt(stats["var"] + EPS)
        return jnp.sum(((x - m) / jnp.sqrt(v + EPS) * rr + dd) * w)

    g = jax.grad(ours)(x)
    np.testing.assert_allclose(np.asarray(g), np.asarray(jax.grad(constants_r_d)(x)), atol=1e-5, rtol=0)
    assert np.abs(np.asarray(g) - np.asarray(jax.grad(through_r_d)(x))).max() > 1e-3


def test_evaluation_is_the_affine_map_of_the_running_statistics_and_changes_nothing():
    layer = BatchRenorm()
    x = jnp.asarray(_batches(1, seed=5)[0])
    variables = layer.init(jax.random.PRNGKey(0), x, train=True)
    params = {"scale": jnp.arange(1.0, 6.0), "bias": jnp.full((5,), -0.25)}
    stats = {"mean": jnp.linspace(-1, 1, 5), "var": jnp.linspace(0.5, 3, 5), "steps": jnp.asarray(7, jnp.int32)}
    y = layer.apply({"params": params, "batch_stats": stats}, x, train=False)  # not mutable: must not write
    want = (np.asarray(x) - np.asarray(stats["mean"])) / np.sqrt(np.asarray(stats["var"]) + EPS)
    np.testing.assert_allclose(np.asarray(y), want * np.asarray(params["scale"]) - 0.25, atol=1e-5, rtol=0)
    assert set(variables["batch_stats"]) == {"mean", "var", "steps"} and set(variables["params"]) == {"scale", "bias"}


def test_a_sac_agent_with_renormalized_torsos_counts_its_calls_and_keeps_integer_targets():
    """CrossQ's placement in an agent: the critic's one training-mode pass per update counts in
    every BatchRenorm of it, and the Polyak target copies the counter instead of averaging it."""
    cfg = agent_config("sac")
    cfg.actor = torso_config(width=8, depth=2, batch_renorm=True, brn_warmup_steps=1)
    cfg.critic = torso_config(width=8, depth=2, batch_renorm=True, brn_warmup_steps=1)
    cfg.batch_size = 16
    agent = make_agent(cfg, 4, 2)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    for i in range(3):
        state, metrics = update(state, gaussian(jax.random.PRNGKey(i), 16, 4, 2), jax.random.PRNGKey(10 + i))
    stats = state.critic.state["batch_stats"]["ensemble"]["torso"]
    assert set(stats) == {"input_renorm", "hidden_0_renorm", "hidden_1_renorm"}
    assert all(int(np.asarray(s["steps"]).max()) == 3 for s in stats.values())
    target = state.target_critic.batch_stats["ensemble"]["torso"]["hidden_0_renorm"]
    assert target["steps"].dtype == jnp.int32 and np.isfinite(float(metrics["critic_loss"]))
    with pytest.raises(ValueError, match="batch_renorm=True needs arch='mlp'"):
        torso_config(arch="resnet", batch_renorm=True)
