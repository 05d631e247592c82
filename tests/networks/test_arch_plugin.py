"""A torso architecture is a plug-in: one module that registers an ``Arch`` gives torsos of
that architecture everywhere the library builds, sizes, shrinks and exports them. This file is
that module for a toy architecture (an mlp whose features end with the input again), and checks
each of those paths with no other file knowing the name."""
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.export import load_policy
from largerl_jax.export.writer import policy_contents
from largerl_jax.networks import (
    Arch,
    GaussianPolicy,
    Torso,
    arch_names,
    get_arch,
    layer_widths,
    register_arch,
    torso_config,
    torso_out_dim,
)
from largerl_jax.networks import export_ops
from largerl_jax.pruning.compact import alive_to_keep, apply_plan, compact_masks, compaction_plan
from largerl_jax.networks.compact_takes import cat, hidden_takes
from largerl_jax.networks.layers import hidden_layer

NAME = "test_mlp_then_input"
OBS, ACT, B = 5, 2, 7


def _forward(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
    return jnp.concatenate([h, x], axis=-1)


def _out_dim(cfg, in_dim, widths):
    return widths[-1] + in_dim


def _plan(cfg, in_dim, widths, keeps, in_keep, at):
    def rows(i):
        return (in_keep, in_dim) if i == 0 else (keeps[i - 1], widths[i - 1])

    return hidden_takes(cfg, rows, widths, keeps, at), cat([keeps[-1], widths[-1] + in_keep])


def _export(p, cfg, v, key, x, widths):
    h = x
    for i in range(len(widths)):
        h = export_ops.hidden(p, cfg, v, key, i, h)
    return p.op("concat", h, x)


def _validate(cfg):
    if cfg.depth < 2:
        raise ValueError(f"torso arch {NAME!r} needs depth >= 2, got {cfg.depth}")


register_arch(Arch(NAME, forward=_forward, out_dim=_out_dim, plan=_plan, export=_export, validate=_validate))


def test_registered_arch_is_a_torso_config_choice_with_its_own_checks():
    assert NAME in arch_names() and get_arch(NAME).name == NAME
    torso_config(arch=NAME)
    with pytest.raises(ValueError, match=f"needs depth >= 2"):
        torso_config(arch=NAME, depth=1)
    with pytest.raises(ValueError, match=f"arch must be one of .*{NAME}"):
        torso_config(arch="no_such_arch")
    with pytest.raises(ValueError, match="already registered"):
        register_arch(Arch(NAME, forward=_forward, out_dim=_out_dim, plan=_plan, export=_export))


def test_torso_builds_with_the_declared_width():
    cfg = torso_config(arch=NAME, width=6, depth=2)
    x = np.ones((B, OBS), np.float32)
    out = Torso(cfg).apply(Torso(cfg).init(jax.random.key(0), x), x)
    assert out.shape == (B, 6 + OBS) == (B, torso_out_dim(cfg, OBS))
    np.testing.assert_array_equal(out[:, 6:], x)


def test_shrunk_policy_computes_the_same_function():
    cfg = torso_config(arch=NAME, width=6, depth=2)
    module = GaussianPolicy(cfg, act_dim=ACT)
    x = np.random.default_rng(0).standard_normal((B, OBS)).astype(np.float32)
    variables = module.init(jax.random.key(0), x)
    alive = [np.arange(6) % 3 != 0, np.arange(6) % 2 == 0]
    masks = [a.astype(np.float32) for a in alive]
    ref = module.apply(variables, x, masks=masks)

    plan = compaction_plan(cfg, OBS, [alive_to_keep(a)[0] for a in alive])
    small = GaussianPolicy(plan.cfg, act_dim=ACT)
    out = small.apply(apply_plan(plan, variables), x, masks=compact_masks(plan, masks))
    assert layer_widths(plan.cfg, OBS) == [4, 3]
    assert plan.out_keep.size == torso_out_dim(plan.cfg, OBS) == 3 + OBS
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), out, ref)


def test_exported_policy_acts_as_the_agent():
    cfg = agent_config("sac")
    cfg.actor = torso_config(arch=NAME, width=8, depth=2)
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(3))
    buf = io.BytesIO()
    np.savez(buf, **policy_contents(agent, state, (OBS,), "toy"))
    buf.seek(0)
    obs = np.random.default_rng(1).standard_normal((B, OBS)).astype(np.float32)
    expected = jax.jit(lambda s, o: agent.act(s, o, jax.random.PRNGKey(0), True))(state, obs)
    np.testing.assert_allclose(load_policy(buf)(obs), np.asarray(expected), atol=1e-5, rtol=0)
