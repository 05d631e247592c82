"""Pieces shared by the actor-critic agents: TD losses and targets, and the agent interface.
Trainable-network helpers (Net, apply, targets, Polyak averaging) live in
largerl_jax.networks.trainable, below OFENet and the agents."""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import optax


def td_loss(pred: jax.Array, target: jax.Array, kind: str, huber_delta: float = 1.0, weights=None) -> jax.Array:
    """Mean over the batch, summed over ensemble members (pred [K, B], target [B]); ``weights``
    [B] (prioritized replay's importance weights) scale each sample's loss."""
    err = pred - jax.lax.stop_gradient(target)[None]
    if kind == "mse":
        per = 0.5 * jnp.square(err)
    elif kind == "huber":
        per = optax.huber_loss(err, delta=huber_delta)
    else:
        raise ValueError(f"critic_loss must be 'mse' or 'huber', got {kind!r}")
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


@dataclasses.dataclass(frozen=True)
class Agent:
    """An agent is three pure functions over its own state pytree.

    init(key) -> state
    act(state, obs [N, obs_dim], key, deterministic: bool) -> actions in [-1, 1] [N, act_dim]
    update(state, batch: Transition, key, weights=None) -> (state, metrics): metrics are scalars
        except 'priority' [B], the per-sample |TD error| that prioritized replay consumes;
        weights [B] are importance weights (None: uniform replay)
    networks(state) -> {name: (module, variables)} for parameter tables and analysis
    pretrain(state, batch: Transition, key) -> (state, metrics), optional: updates that run
        after the random warm-up and before RL (OFENet's feature pre-training)
    aux_update(state, batch: Transition, key) -> (state, metrics), optional: an auxiliary
        model's step taken before every ``update`` on a batch the trainer draws for it
        uniformly, never the prioritized one (OFENet's next-state model; see training.learner)
    optional_metrics: names of metrics that are NaN by design on some steps (TD3's actor loss
        on critic-only steps); the trainer's divergence check skips them
    gate_widths(state) -> {'pi', 'V', 'Q1', 'Q2'}: expected first-layer widths, optional: agents
        whose networks carry XiNet gates (pruning); a gated OFENet's thresholds read them
    frame_stack: None for agents of flat observations; k for agents of pixels, whose obs are
        uint8 stacks of k frames [N, H, W, 3k] (the trainer then keeps a frame replay and the
        host loop builds the acting stacks)
    """

    name: str
    init: Callable
    act: Callable
    update: Callable
    networks: Callable
    pretrain: Callable | None = None
    aux_update: Callable | None = None
    optional_metrics: tuple[str, ...] = ()
    frame_stack: int | None = None
    gate_widths: Callable | None = None
