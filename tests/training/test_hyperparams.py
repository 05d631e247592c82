"""Carried hyperparameters (training.hyperparams): every carried key traces through every agent
family, and a carried value acts exactly as the same value written in the config."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import get_config
from largerl_jax.training import hyperparams, make_driver
from largerl_jax.training.hyperparams import CARRIED


def _tiny(name, **agent):
    cfg = get_config(name)
    for net in ("actor", "critic", "value"):
        if net in cfg.agent:
            cfg.agent[net].width = 8
    cfg.agent.batch_size = cfg.agent.ofenet.batch_size = 8
    cfg.agent.ofenet.units, cfg.agent.ofenet.num_layers = 4, 2
    cfg.env.num_envs, cfg.env.eval_episodes = 2, 1
    cfg.replay_capacity = 32
    for k, v in agent.items():
        cfg.agent[k] = v
    return cfg


def _present(cfg) -> list[str]:
    out = []
    for key in sorted(CARRIED):
        node = cfg
        for part in key.split("."):
            node = node.get(part) if hasattr(node, "get") else None
        if isinstance(node, float):
            out.append(key)
    return out


@pytest.mark.parametrize(
    "name,agent",
    [("pendulum_sac", {}), ("pendulum_td3", {}), ("pendulum_sac_v1", {}), ("pendulum_sac", {"features": "ofenet"}),
     ("pendulum_simba", {})],
)
def test_every_carried_key_traces_through_init_act_update_and_eval(name, agent):
    cfg = _tiny(name, **agent)
    keys = _present(cfg)
    assert {"agent.actor_lr", "agent.critic_lr", "agent.gamma", "agent.tau"} <= set(keys)
    hyperparams.check_keys(cfg, keys)
    driver = make_driver(cfg, [0, 1], carried=tuple(keys))
    hp = hyperparams.stacked([cfg], keys, 2)
    rng = jax.ShapeDtypeStruct((2, 2), jnp.uint32)
    state = driver.abstract_state(rng, cfg.replay_capacity, hp)
    assert hyperparams.flat(state.hparams).keys() == set(keys)
    # Tracing is the test: a Python float() or branch on a carried value raises here.
    for phase in ("train", "pretrain") if agent.get("features") == "ofenet" else ("train",):
        jax.eval_shape(lambda ts, p=phase: driver.loop.chunk(ts, 2, p), state)
    jax.eval_shape(driver.loop.evaluate, state)


def test_shape_keys_and_unknown_keys_are_refused():
    cfg = _tiny("pendulum_sac")
    with pytest.raises(ValueError, match="cannot be carried"):
        hyperparams.check_keys(cfg, ["agent.batch_size"])
    with pytest.raises(ValueError, match="not a field"):
        hyperparams.check_keys(cfg, ["agent.value_lr"])


def test_nested_and_flat_are_inverse_and_stacked_is_point_major():
    cfg_a, cfg_b = _tiny("pendulum_sac"), _tiny("pendulum_sac")
    cfg_b.agent.actor_lr = 1e-3
    hp = hyperparams.stacked([cfg_a, cfg_b], ["agent.actor_lr", "agent.gamma"], 3)
    flat = hyperparams.flat(hp)
    np.testing.assert_allclose(flat["agent.actor_lr"], [3e-4] * 3 + [1e-3] * 3, rtol=1e-6)
    np.testing.assert_allclose(flat["agent.gamma"], [0.99] * 6, rtol=1e-6)
    assert hyperparams.nested(flat).keys() == hp.keys()
    assert hyperparams.stacked([cfg_a], [], 3) is None
