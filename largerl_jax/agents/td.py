"""Temporal-difference pieces shared by the actor-critic agents: the critic losses, prioritized
replay's priority and the bootstrapped target. (Trainable-network helpers, Net, targets and
Polyak averaging, live in largerl_jax.networks.trainable, below OFENet and the agents.)"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from largerl_jax.replay.nstep import nstep_return


# The critic losses by name: 'mse' is the SAC papers' J_Q = 1/2 (Q - y)^2 (softlearning's
# 0.5 * mean_squared_error); 'mse_full' drops the 1/2, as PyTorch's F.mse_loss in DrQ's critic
# (drq.py: F.mse_loss(Q1, y) + F.mse_loss(Q2, y)), so that logged losses and gradient norms are
# on Bjorck et al.'s scale; 'huber' is optax's Huber loss with transition point huber_delta.
CRITIC_LOSSES = ("mse", "mse_full", "huber")


def td_loss(pred: jax.Array, target: jax.Array, kind: str, huber_delta: float = 1.0, weights=None) -> jax.Array:
    """Mean over the batch, summed over ensemble members (pred [K, B], target [B]); ``weights``
    [B] (prioritized replay's importance weights) scale each sample's loss. ``kind``: one of
    CRITIC_LOSSES."""
    err = pred - jax.lax.stop_gradient(target)[None]
    if kind == "mse":
        per = 0.5 * jnp.square(err)
    elif kind == "mse_full":
        per = jnp.square(err)
    elif kind == "huber":
        per = optax.huber_loss(err, delta=huber_delta)
    else:
        raise ValueError(f"critic_loss must be one of {CRITIC_LOSSES}, got {kind!r}")
    if weights is not None:
        per = per * weights[None]
    return per.mean(axis=-1).sum()


def td_priority(pred: jax.Array, target: jax.Array) -> jax.Array:
    """Per-sample |TD error| averaged over ensemble members [B]: prioritized replay's priority."""
    return jax.lax.stop_gradient(jnp.abs(pred - target[None]).mean(axis=0))


def bootstrap_target(reward, terminated, next_value, gamma: float, reward_scale: float):
    """Soft/TD target. Terminations cut the bootstrap; time-limit truncations do not (next_value
    comes from the true final observation, which the envs report)."""
    return reward_scale * reward + gamma * (1.0 - terminated) * next_value


def target_terms(batch, gamma):
    """(reward, discount of the next value) of a batch: (reward, gamma (1 - terminated)) for
    one-step transitions, (G, gamma^m (1 - terminated)) for n-step ones (replay.nstep)."""
    if batch.steps is None:
        return batch.reward, gamma * (1.0 - batch.terminated)
    return nstep_return(batch.rewards, batch.steps, batch.terminated, gamma)


def batch_target(batch, next_value, gamma, reward_scale: float):
    """``bootstrap_target`` of a batch, one-step or n-step (the same operations as
    ``bootstrap_target`` on a one-step batch: ``gamma * (1 - terminated)`` multiplies first)."""
    reward, discount = target_terms(batch, gamma)
    return reward_scale * reward + discount * next_value
