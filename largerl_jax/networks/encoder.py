"""The pixel encoder of Bjorck et al. App. C (DrQ's): uint8 frame stacks -> 50 features.

``PixelConvs``: x / 255, then four 3x3 convs with 32 filters, stride 2 then 1, 1, 1, ReLU after
each, no padding (84 -> 41 -> 39 -> 37 -> 35, so 35 * 35 * 32 = 39200 features), flattened.
``FeatureHead``: Dense 50, LayerNorm, tanh. ``PixelEncoder`` chains them.

Scaling: pixels go to [0, 1] as in DrQ, whose code the paper starts from (DrQ-v2 subtracts 0.5;
with LayerNorm after the Dense the centring matters little, and matching DrQ keeps the
initial features comparable).

Initialization follows DrQ: delta-orthogonal convs (an orthogonal 1x1 map at the kernel's centre,
ReLU gain sqrt 2), orthogonal Dense, zero biases.

Training contract (DrQ's): the critic owns convs and a head, trained by the critic loss only.
The actor reuses the critic's conv parameters (tied, not copied) with the gradient stopped after
the convs, and has its own head, which the actor loss trains. So
``PixelEncoder().apply({'params': {'convs': critic_convs, 'head': actor_head}}, obs,
stop_conv_gradient=True)`` gives the actor's features, and the actor loss reaches no conv weight.
In the actor loss the critic is applied with ``stop_conv_gradient=True`` as well (DrQ's
``detach_encoder``), though the actor's optimizer never steps critic parameters anyway.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from largerl_jax.networks import initializers

NUM_FILTERS = 32
FEATURE_DIM = 50
STRIDES = (2, 1, 1, 1)


def conv_output_size(size: int = 84) -> int:
    """Side of the last feature map for a ``size`` x ``size`` input (35 for 84)."""
    for s in STRIDES:
        size = (size - 3) // s + 1
    return size


class PixelConvs(nn.Module):
    """uint8 [B, H, W, C] -> float32 [B, h * w * 32]."""

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        x = images.astype(jnp.float32) / 255.0
        for i, stride in enumerate(STRIDES):
            x = nn.Conv(
                NUM_FILTERS, (3, 3), strides=stride, padding="VALID",
                kernel_init=initializers.delta_orthogonal(scale=math.sqrt(2.0)),
                bias_init=nn.initializers.zeros, name=f"conv_{i}",
            )(x)
            x = nn.relu(x)
        return x.reshape(x.shape[0], -1)


class FeatureHead(nn.Module):
    """Conv features -> tanh(LayerNorm(Dense 50))."""

    features: int = FEATURE_DIM
    ln_epsilon: float = 1e-6  # Flax's default; DrQ's (PyTorch's) is 1e-5

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        h = nn.Dense(self.features, kernel_init=initializers.orthogonal(), bias_init=nn.initializers.zeros,
                     name="dense")(h)
        return jnp.tanh(nn.LayerNorm(epsilon=self.ln_epsilon, name="norm")(h))


class PixelEncoder(nn.Module):
    """Params ``{'convs': ..., 'head': ...}``; ``stop_conv_gradient`` cuts the gradient between
    the two (the actor's view of the tied convs)."""

    features: int = FEATURE_DIM
    ln_epsilon: float = 1e-6

    @nn.compact
    def __call__(self, images: jax.Array, stop_conv_gradient: bool = False) -> jax.Array:
        h = PixelConvs(name="convs")(images)
        if stop_conv_gradient:
            h = jax.lax.stop_gradient(h)
        return FeatureHead(self.features, self.ln_epsilon, name="head")(h)
