"""Trainable networks as explicit pytrees, below features and agents alike: a network's
parameters with its carried non-parameter collections and optimizer state, applying a Flax
module with those collections, gradient steps, Polyak averaging and target networks."""
from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

# Non-parameter collections a network may carry (see largerl_jax.networks): spectral-norm
# power-iteration vectors and batch-norm running statistics.
STATE_COLLECTIONS = ("spectral", "batch_stats")


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """A network's optimizer less its learning rate: static and hashable, a field of ``Net``.

    The learning rate comes with each gradient step instead: a grid carries learning rates in
    the train state as traced scalars (``training/hyperparams.py``), and a static field holding
    one would hold a stale trace (and change the compiled program's cache key every chunk).
    Adam's state (and the clip's) does not depend on the learning rate, so ``init`` needs none."""

    grad_clip: float | None = None  # global-norm clip before Adam; None or 0: off
    # decoupled weight decay (AdamW: optax.adamw, on every parameter, times the learning rate);
    # 0: plain Adam. Static, so a grid cannot carry it.
    weight_decay: float = 0.0
    b1: float = 0.9  # Adam's first-moment decay (optax's default; CrossQ: 0.5)
    b2: float = 0.999  # Adam's second-moment decay (optax's default; FastSAC: 0.95)

    def transform(self, lr) -> optax.GradientTransformation:
        return make_adam(lr, self.grad_clip, self.weight_decay, self.b1, self.b2)

    def init(self, params):
        return self.transform(0.0).init(params)


@struct.dataclass
class Net:
    """One trained network: parameters, carried non-parameter state and optimizer state, with its
    Flax module and its ``Optimizer`` as static fields (hashable: modules hold their configs
    frozen), so that code holding the state runs, steps and follows the network without closing
    over either."""

    params: Any
    state: dict  # {'spectral': ..., 'batch_stats': ...}, only the collections the module has
    opt_state: Any
    module: nn.Module = struct.field(pytree_node=False, default=None)
    optimizer: Optimizer = struct.field(pytree_node=False, default=None)

    def apply(self, *inputs, train: bool, params=None, **kwargs):
        """(output, new_state) of the module (see ``apply``), with ``params`` in place of the
        net's own when given (the argument a loss differentiates)."""
        return apply(self.module, self.params if params is None else params, self.state, *inputs, train=train, **kwargs)

    def apply_target(self, target: "Target", *inputs, **kwargs):
        """(output, state) of the target network ``target`` of this net, in evaluation mode."""
        return apply(self.module, target.params, target_collections(target, self), *inputs, train=False, **kwargs)

    def apply_gradients(self, grads, lr, new_state: dict | None = None) -> "Net":
        """One optimizer step at learning rate ``lr`` (a float, or a traced scalar of a grid),
        with the carried collections replaced by ``new_state`` when given."""
        updates, opt_state = self.optimizer.transform(lr).update(grads, self.opt_state, self.params)
        return self.replace(
            params=optax.apply_updates(self.params, updates),
            state=self.state if new_state is None else new_state,
            opt_state=opt_state,
        )

    def target(self) -> "Target":
        """A target network starting at this net's weights (and batch-norm statistics)."""
        return init_target(self)

    def follow(self, target: "Target", tau) -> "Target":
        """``target`` moved a Polyak step ``tau`` towards this net."""
        return update_target(target, self, tau)

    def variables(self) -> dict:
        """Flax variables {'params': ..., **carried collections}."""
        return {"params": self.params, **self.state}


def init_variables(module: nn.Module, key: jax.Array, *inputs) -> tuple[Any, dict]:
    variables = module.init(key, *inputs)
    params = variables["params"]
    state = {k: v for k, v in variables.items() if k in STATE_COLLECTIONS}
    unknown = set(variables) - {"params", *STATE_COLLECTIONS}
    if unknown:
        raise ValueError(f"module {type(module).__name__} has unsupported collections {sorted(unknown)}")
    return params, state


def init_net(module: nn.Module, optimizer: Optimizer, key, *inputs) -> Net:
    params, state = init_variables(module, key, *inputs)
    return Net(params=params, state=state, opt_state=optimizer.init(params), module=module, optimizer=optimizer)


def apply(module: nn.Module, params, state: dict, *inputs, train: bool, **kwargs):
    """Returns (output, new_state). With train=True, batch norm uses batch statistics and spectral
    norm runs its power iterations; both write their collections, returned as new_state. With
    train=False the carried state is read but never changed."""
    variables = {"params": params, **state}
    if train and state:
        out, updates = module.apply(variables, *inputs, train=True, mutable=list(state), **kwargs)
        return out, {**state, **updates}
    return module.apply(variables, *inputs, train=train, **kwargs), state


def polyak(target, online, tau: float):
    """Polyak averaging of floating-point leaves; integer leaves (batch renormalization's call
    counter) follow the online network's."""
    return jax.tree.map(lambda t, o: (1.0 - tau) * t + tau * o if jnp.issubdtype(o.dtype, jnp.floating) else o,
                        target, online)


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


def make_adam(lr: float, grad_clip: float | None = None, weight_decay: float = 0.0,
              b1: float = 0.9, b2: float = 0.999) -> optax.GradientTransformation:
    """Adam (AdamW when ``weight_decay`` > 0), after a global-norm clip when ``grad_clip``."""
    adam = optax.adamw(lr, b1=b1, b2=b2, weight_decay=weight_decay) if weight_decay else optax.adam(lr, b1=b1, b2=b2)
    if grad_clip:
        return optax.chain(optax.clip_by_global_norm(grad_clip), adam)
    return adam


def kernel_decay(params) -> jax.Array:
    """0.5 * sum of squared dense kernels (spec 5: [C] weight decay on weight matrices only,
    not on biases, batch-norm affine parameters or pass-through diagonals)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    return 0.5 * sum(jnp.sum(jnp.square(x)) for path, x in leaves if getattr(path[-1], "key", None) == "kernel")
