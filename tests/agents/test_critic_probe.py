"""Every agent's critic_probe: its TD target is the one its update regresses on (the update's
critic loss recomputed from the probe, same key), and its features are the input of the
critic's output layer."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent, sac_v1_config
from largerl_jax.agents.td import td_loss
from largerl_jax.pruning import gates as gating
from largerl_jax.networks import torso_config
from fake_transitions import gaussian

OBS, ACT, B = 6, 2, 32
FRAME = (16, 16, 3)


def _tiny(name, features="raw"):
    cfg = agent_config(name)
    for net in ("actor", "critic", "value"):
        if net in cfg:
            cfg[net].widths, cfg[net].width = None, 16
    cfg.batch_size = B
    if features == "ofenet":
        cfg.features = "ofenet"
        cfg.ofenet.num_layers, cfg.ofenet.units = 2, 8
        cfg.ofenet.batch_size = B
    return cfg


def _probe_and_losses(agent, cfg, batch, key, copies=1):
    """One program (so one compile): a fresh state, its update's critic loss, its probe, and
    that loss recomputed from the probe (``copies``: the pixel agent's K obs copies)."""

    @jax.jit
    def run(batch, key):
        state = agent.init(jax.random.PRNGKey(0))
        _, metrics = agent.update(state, batch, key)
        probe = agent.critic_probe(state, batch, key)
        loss = copies * td_loss(probe.q(), probe.target, cfg.critic_loss, cfg.huber_delta)
        return state, probe, probe.q(), probe.features(), metrics["critic_loss"], loss

    state, probe, q, features, update_loss, probe_loss = run(batch, key)
    assert probe.target.shape == (B,)
    return state, probe, q, features, update_loss, probe_loss


@pytest.mark.parametrize("name, features", [
    ("sac", "raw"), ("td3", "raw"), ("sac", "ofenet"),  # sac_v1: the gated test below
])
def test_probe_target_is_the_updates_target(name, features):
    cfg = _tiny(name, features)
    agent = make_agent(cfg, OBS, ACT)
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    _, probe, q, features, update_loss, probe_loss = _probe_and_losses(agent, cfg, batch, jax.random.PRNGKey(2))
    np.testing.assert_allclose(probe_loss, update_loss, rtol=1e-5)
    # the probe's features feed the members' output layer: q = features . w_out + b_out
    out = probe.variables["params"]["ensemble"]["out"]
    assert features.shape == (cfg.num_q, B, 16)
    np.testing.assert_allclose(jnp.einsum("kbd,kd->kb", features, out["kernel"][..., 0]) + out["bias"], q,
                               rtol=1e-5, atol=1e-6)


def test_pixel_probe_reads_unaugmented_stacks_and_the_updates_target():
    cfg = agent_config("sac_pixels")
    for net in ("actor", "critic"):
        cfg[net].width = 16
    cfg.batch_size, cfg.shift_pad = B, 0  # no shift: the K obs copies are the stacks themselves
    agent = make_agent(cfg, int(np.prod(FRAME)), ACT, FRAME)
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    stacks = (B, FRAME[0], FRAME[1], 3 * FRAME[2])
    batch = gaussian(k[0], B, 1, ACT).replace(
        obs=jax.random.randint(k[1], stacks, 0, 256).astype(jnp.uint8),
        next_obs=jax.random.randint(k[2], stacks, 0, 256).astype(jnp.uint8),
    )
    _, probe, _, features, update_loss, probe_loss = _probe_and_losses(
        agent, cfg, batch, jax.random.PRNGKey(2), copies=cfg.augment_obs)
    np.testing.assert_allclose(probe_loss, update_loss, rtol=1e-5)
    assert probe.inputs[0].dtype == jnp.uint8 and probe.inputs[0].shape == stacks
    assert features.shape == (cfg.num_q, B, 16)


def test_gated_critic_is_probed_with_its_evaluation_masks():
    cfg = sac_v1_config()
    for name in ("actor", "critic", "value"):
        cfg[name] = torso_config(arch="mlp", width=16, depth=2)
    cfg.pruning.enabled = True
    cfg.pruning.warmup_updates, cfg.pruning.round_update = 2, 8
    agent = make_agent(cfg, OBS, ACT)
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    # pi = 1 everywhere at the start: the sampled gates are all ones, so the update's loss is
    # the deterministic network's
    state, _, _, _, update_loss, probe_loss = _probe_and_losses(agent, cfg, batch, jax.random.PRNGKey(2))
    np.testing.assert_allclose(probe_loss, update_loss, rtol=1e-5)

    # with some pi halved, the probe's Q is the critic with its units scaled by pi
    pi = tuple(p.at[:, :4].set(0.5) for p in state.gates["critic"].pi)
    state = state.replace(gates={**state.gates, "critic": state.gates["critic"].replace(pi=pi)})
    q = jax.jit(lambda s: agent.critic_probe(s, batch, jax.random.PRNGKey(2)).q())(state)
    critic, variables = agent.networks(state)["critic"]
    z_sa = jnp.concatenate([batch.obs, batch.action], axis=-1)
    apply = jax.jit(critic.apply)
    np.testing.assert_allclose(q, apply(variables, z_sa, masks=gating.eval_masks(state.gates["critic"])), rtol=1e-5)
    assert not np.allclose(q, apply(variables, z_sa))
