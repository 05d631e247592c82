"""SimbaV2's heads on its hyperspherical torso (arch 'simbav2'; dojeon-ai/SimbaV2,
scale_rl/agents/simbaV2/simbaV2_layer.py HyperNormalTanhPolicy and HyperCategoricalValue):

* ``HyperGaussianPolicy``: mean and log-std, each HyperDense(h) -> Scaler(1, 1) ->
  HyperDense(|A|) + bias; the log-std tanh-rescaled into [min, max].
* ``HyperCategoricalQ``: ``num_q`` vmapped members, each HyperDense(h) -> Scaler(1, 1) ->
  HyperDense(bins) + bias: the logits of a categorical distribution over ``bins`` atoms evenly
  spaced on [v_min, v_max]; Q is its mean.

Their 'hyper_dense' kernels are projected with the torso's (networks.archs.simbav2.project)."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from largerl_jax.networks import export_ops
from largerl_jax.networks.archs.simbav2 import HyperDense, Scaler, scaler_factor
from largerl_jax.networks.heads import _Head, bound_log_std
from largerl_jax.networks.torso import Torso
from largerl_jax.networks.torso_export import export_torso


class _HyperOut(nn.Module):
    """HyperDense(h) -> Scaler(1, 1) -> HyperDense(n) + bias."""

    width: int
    outputs: int

    @nn.compact
    def __call__(self, z):
        y = HyperDense(self.outputs, name="w2")(Scaler(1.0, 1.0, name="scaler")(HyperDense(self.width, name="w1")(z)))
        return y + self.param("bias", nn.initializers.zeros, (self.outputs,))


class HyperGaussianPolicy(_Head):
    act_dim: int
    log_std_min: float = -10.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, obs, train: bool = False, masks=None):
        z = Torso(self.torso, name="torso")(obs, train=train, masks=masks)
        mean = _HyperOut(self.torso.width, self.act_dim, name="mean")(z)
        log_std = _HyperOut(self.torso.width, self.act_dim, name="log_std")(z)
        return mean, bound_log_std(log_std, self.log_std_min, self.log_std_max, "tanh")


def export_hyper_policy(p, module, variables, key: str, x: str) -> tuple[str, int]:
    """The deterministic action of a HyperGaussianPolicy (tanh of the mean branch) as export ops
    reading ``x``: (the action's name, act_dim)."""
    if not isinstance(module, HyperGaussianPolicy):
        raise ValueError(f"cannot export a hyperspherical policy head of type {type(module).__name__}")
    h = export_torso(p, module.torso, export_ops.child(variables, "torso"), f"{key}/torso", x)
    mean = variables["params"]["mean"]
    y = export_ops.bias_free_dense(p, {"params": mean["w1"]["hyper_dense"]}, f"{key}/mean/w1/hyper_dense", h)
    y = p.op("scale", y, scale=p.array(f"{key}/mean/scaler", scaler_factor(mean["scaler"], 1.0, 1.0)))
    # HyperDense(|A|) + bias: one dense op
    out = p.op("dense", y, kernel=p.array(f"{key}/mean/w2/hyper_dense/kernel", mean["w2"]["hyper_dense"]["kernel"]),
               bias=p.array(f"{key}/mean/bias", mean["bias"]))
    return p.op("tanh", out), int(module.act_dim)


class _CategoricalMember(nn.Module):
    torso: object
    bins: int
    penultimate: bool = False  # an attribute, so the vmap never maps over it

    @nn.compact
    def __call__(self, x):
        z = Torso(self.torso, name="torso")(x)
        if self.penultimate:
            return z
        return _HyperOut(self.torso.width, self.bins, name="value")(z)


class HyperCategoricalQ(_Head):
    """(obs, action) -> logits [num_q, B, bins]; ``penultimate=True``: the torso's features."""

    num_q: int = 2
    bins: int = 101
    v_min: float = -5.0
    v_max: float = 5.0

    @nn.compact
    def __call__(self, obs, action=None, train: bool = False, masks=None, penultimate: bool = False):
        x = obs if action is None else jnp.concatenate([obs, action], axis=-1)
        members = nn.vmap(_CategoricalMember, variable_axes={"params": 0}, split_rngs={"params": True},
                          in_axes=None, out_axes=0, axis_size=self.num_q)
        return members(self.torso, self.bins, penultimate, name="ensemble")(x)


def categorical_q(logits, atoms):
    """The mean of the categorical distributions: Q values [..., ] from logits [..., bins]."""
    return (jax.nn.softmax(logits, axis=-1) * atoms).sum(-1)
