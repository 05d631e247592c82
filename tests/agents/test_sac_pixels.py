"""DrQ's SAC from pixels through the real agent update: who trains the encoder, where the
augmentation happens, acting on stacks. Small frames keep it fast; the contract is size-free."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.replay import Transition

FRAME = (20, 20, 3)
ACT, B = 2, 8


def _cfg(**over):
    cfg = agent_config("sac_pixels")
    for net in ("actor", "critic"):
        cfg[net].width = 16
    cfg.batch_size = B
    for k, v in over.items():
        cfg[k] = v
    return cfg


def _agent(**over):
    return make_agent(_cfg(**over), int(np.prod(FRAME)), ACT, FRAME)


def _batch(seed=0):
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    stacks = (B, FRAME[0], FRAME[1], 3 * FRAME[2])
    return Transition(
        obs=jax.random.randint(k1, stacks, 0, 256).astype(jnp.uint8),
        action=jax.random.uniform(k2, (B, ACT), minval=-1, maxval=1),
        reward=jnp.ones(B),
        next_obs=jax.random.randint(k3, stacks, 0, 256).astype(jnp.uint8),
        terminated=jnp.zeros(B),
        truncated=jnp.zeros(B),
    )


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_the_critic_loss_alone_trains_the_convs():
    # gamma 0: the TD target is the reward, so nothing of the actor enters the critic loss; two
    # agents with different actors must then end the update with the same critic, convs included
    agent = _agent(gamma=0.0)
    update = jax.jit(agent.update)
    state = agent.init(jax.random.PRNGKey(0))
    other = state.replace(actor=agent.init(jax.random.PRNGKey(5)).actor)
    assert not _same(state.actor.params, other.actor.params)
    key, batch = jax.random.PRNGKey(1), _batch()
    new, metrics = update(state, batch, key)
    new_other, _ = update(other, batch, key)

    convs = new.critic.params["encoder"]["convs"]
    assert not any(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(convs),
                                                         jax.tree.leaves(state.critic.params["encoder"]["convs"])))
    assert _same(new.critic.params, new_other.critic.params)  # the actors' losses differ, the convs do not
    assert set(new.actor.params) == {"head", "policy"}  # no convs of its own
    assert not _same(new.actor.params["head"], state.actor.params["head"])  # its head trains
    assert float(metrics["actor_grad_norm"]) > 0 and float(metrics["critic_grad_norm"]) > 0


def test_the_critic_loss_is_drqs_unhalved_mse_summed_over_critics_and_copies():
    """DrQ (drq.py, update_critic): F.mse_loss(Q1, y) + F.mse_loss(Q2, y), once per augmented
    copy. Without shifts (pad 0) and with gamma 0 (y = r) the K = 2 copies are the same batch, so
    the loss is 2 x sum over the critics of mean (Q - r)^2; SAC's 1/2 ('mse') halves it."""
    agent = _agent(gamma=0.0, shift_pad=0)
    assert agent_config("sac_pixels").critic_loss == "mse_full"
    state = agent.init(jax.random.PRNGKey(0))
    batch = _batch()
    q, _ = state.critic.apply(batch.obs, batch.action, train=True)  # [critics, B]
    expected = 2 * float(jnp.sum(jnp.mean(jnp.square(q - batch.reward[None]), axis=1)))
    _, metrics = jax.jit(agent.update)(state, batch, jax.random.PRNGKey(1))
    np.testing.assert_allclose(float(metrics["critic_loss"]), expected, rtol=1e-5)
    _, halved = jax.jit(_agent(gamma=0.0, shift_pad=0, critic_loss="mse").update)(state, batch, jax.random.PRNGKey(1))
    np.testing.assert_allclose(float(halved["critic_loss"]), expected / 2, rtol=1e-5)


def test_the_target_critic_averages_the_whole_critic_every_second_step():
    agent = _agent(tau=0.5)
    update = jax.jit(agent.update)
    state = agent.init(jax.random.PRNGKey(0))
    one, _ = update(state, _batch(), jax.random.PRNGKey(1))
    expected = jax.tree.map(lambda t, o: 0.5 * t + 0.5 * o, state.target_critic.params, one.critic.params)
    assert all(np.allclose(a, b) for a, b in zip(jax.tree.leaves(one.target_critic.params), jax.tree.leaves(expected)))
    two, _ = update(one, _batch(), jax.random.PRNGKey(2))  # step 1: neither target nor actor moves
    assert _same(two.target_critic.params, one.target_critic.params) and _same(two.actor.params, one.actor.params)


@pytest.mark.parametrize("pad,differ", [(4, True), (0, False)])
def test_augmentation_runs_inside_the_jitted_update(pad, differ):
    agent = _agent(gamma=0.0, shift_pad=pad)  # gamma 0: the critic loss has no other randomness
    update = jax.jit(agent.update)
    state, batch = agent.init(jax.random.PRNGKey(0)), _batch()
    loss = [float(update(state, batch, jax.random.PRNGKey(k))[1]["critic_loss"]) for k in (1, 2, 1)]
    assert loss[0] == loss[2] and np.isfinite(loss).all()
    assert (loss[0] != loss[1]) == differ


def test_acting_on_stacks():
    agent = _agent()
    state = agent.init(jax.random.PRNGKey(0))
    obs = _batch().obs[:3]
    act = jax.jit(agent.act, static_argnums=(3,))
    sample = act(state, obs, jax.random.PRNGKey(1), False)
    mode = act(state, obs, jax.random.PRNGKey(1), True)
    assert sample.shape == mode.shape == (3, ACT) and np.all(np.abs(sample) <= 1)
    np.testing.assert_array_equal(mode, act(state, obs, jax.random.PRNGKey(2), True))
    assert agent.frame_stack == 3


def test_pixel_agent_and_flat_agents_refuse_each_others_inputs():
    with pytest.raises(ValueError, match="not one"):
        make_agent(_cfg(), 10, ACT, FRAME)
    with pytest.raises(ValueError, match="sac_pixels"):
        make_agent(agent_config("sac"), int(np.prod(FRAME)), ACT, FRAME)
