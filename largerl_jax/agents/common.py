"""Pieces shared by the actor-critic agents: a network's carried variables, applying a Flax module
with its non-parameter collections, losses, Polyak averaging and the agent interface."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

# Non-parameter collections a network may carry (see largerl_jax.networks): spectral-norm
# power-iteration vectors and batch-norm running statistics.
STATE_COLLECTIONS = ("spectral", "batch_stats")


@struct.dataclass
class Net:
    """One trained network: parameters, carried non-parameter state, optimizer state."""

    params: Any
    state: dict  # {'spectral': ..., 'batch_stats': ...}, only the collections the module has
    opt_state: Any


def init_variables(module: nn.Module, key: jax.Array, *inputs) -> tuple[Any, dict]:
    variables = module.init(key, *inputs)
    params = variables["params"]
    state = {k: v for k, v in variables.items() if k in STATE_COLLECTIONS}
    unknown = set(variables) - {"params", *STATE_COLLECTIONS}
    if unknown:
        raise ValueError(f"module {type(module).__name__} has unsupported collections {sorted(unknown)}")
    return params, state


def init_net(module: nn.Module, optimizer: optax.GradientTransformation, key, *inputs) -> Net:
    params, state = init_variables(module, key, *inputs)
    return Net(params=params, state=state, opt_state=optimizer.init(params))


def apply(module: nn.Module, params, state: dict, *inputs, train: bool, **kwargs):
    """Returns (output, new_state). With train=True, batch norm uses batch statistics and spectral
    norm runs its power iterations; both write their collections, returned as new_state. With
    train=False the carried state is read but never changed."""
    variables = {"params": params, **state}
    if train and state:
        out, updates = module.apply(variables, *inputs, train=True, mutable=list(state), **kwargs)
        return out, {**state, **updates}
    return module.apply(variables, *inputs, train=train, **kwargs), state


def apply_gradients(net: Net, optimizer, grads, new_state: dict | None = None) -> Net:
    updates, opt_state = optimizer.update(grads, net.opt_state, net.params)
    return Net(
        params=optax.apply_updates(net.params, updates),
        state=net.state if new_state is None else new_state,
        opt_state=opt_state,
    )


def polyak(target, online, tau: float):
    return jax.tree.map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)


def select(pred: jax.Array, on_true, on_false):
    """Per-leaf ``where`` over two pytrees of equal structure: a conditional update that stays
    cheap under the trainer's vmap over seeds, where a ``lax.cond`` would run both branches."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


@struct.dataclass
class Target:
    """A target network: Polyak averages of the online weights and of its batch-norm running
    statistics (None without batch norm). Averaging the statistics too, as the reference code's
    Keras target update does for every variable, keeps the lagged weights normalized by
    statistics of similar weights rather than by the online network's. Spectral-norm vectors
    are not averaged: a target reads the online network's u, a power-iteration estimate that
    stays valid for weights this close."""

    params: Any
    batch_stats: Any


def init_target(net: Net) -> Target:
    return Target(params=net.params, batch_stats=net.state.get("batch_stats"))


def update_target(target: Target, net: Net, tau: float) -> Target:
    stats = target.batch_stats
    if stats is not None:
        stats = polyak(stats, net.state["batch_stats"], tau)
    return Target(params=polyak(target.params, net.params, tau), batch_stats=stats)


def target_collections(target: Target, net: Net) -> dict:
    """The carried collections a target network is applied with (see Target)."""
    if target.batch_stats is None:
        return net.state
    return {**net.state, "batch_stats": target.batch_stats}


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


def make_adam(lr: float, grad_clip: float | None = None) -> optax.GradientTransformation:
    if grad_clip:
        return optax.chain(optax.clip_by_global_norm(grad_clip), optax.adam(lr))
    return optax.adam(lr)


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
