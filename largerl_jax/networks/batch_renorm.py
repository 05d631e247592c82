"""Batch renormalization (Ioffe 2017, "Batch Renormalization: Towards Reducing Minibatch
Dependence in Batch-Normalized Models", Alg. 1), the normalization CrossQ (Bhatt et al. 2024)
puts in its actor and critic.

Training mode, over the batch axes of ``x`` (features last):

    mu_B, var_B = batch mean and (biased) variance;  sigma_B = sqrt(var_B + eps)
    sigma = sqrt(var + eps)                                   (running statistics)
    r = stop_gradient(clip(sigma_B / sigma, 1 / r_max, r_max))
    d = stop_gradient(clip((mu_B - mu) / sigma, -d_max, d_max))
    x_hat = (x - mu_B) / sigma_B * r + d
    y = scale * x_hat + bias

For the first ``warmup_steps`` training-mode calls r = 1 and d = 0: plain batch norm (CrossQ's
warm-up, adityab/CrossQ: 100,000 calls; the paper's linear relaxation of r_max and d_max is not
used there either). Each training-mode call then moves the running statistics towards the
batch's, ``mu <- momentum mu + (1 - momentum) mu_B`` and the same for the variance, and counts
itself in ``steps``. Evaluation mode is ``scale * (x - mu) / sigma + bias``: an affine map
of x, exported as the policy program's ``batch_norm`` op.

The running statistics and the counter live in the ``batch_stats`` collection (mean, var,
steps), so they are carried in the train state and checkpointed with it, like batch norm's.
Defaults are CrossQ's (train.py): momentum 0.99, eps 1e-3, r_max 3, d_max 5, warm-up 100,000.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

MOMENTUM = 0.99
EPSILON = 1e-3
R_MAX = 3.0
D_MAX = 5.0
WARMUP_STEPS = 100_000


def renorm_corrections(batch_mean, batch_var, mean, var, eps: float, r_max: float, d_max: float):
    """(r, d) of batch renormalization, gradients stopped."""
    sigma_b, sigma = jnp.sqrt(batch_var + eps), jnp.sqrt(var + eps)
    r = jnp.clip(sigma_b / sigma, 1.0 / r_max, r_max)
    d = jnp.clip((batch_mean - mean) / sigma, -d_max, d_max)
    return jax.lax.stop_gradient(r), jax.lax.stop_gradient(d)


class BatchRenorm(nn.Module):
    momentum: float = MOMENTUM
    epsilon: float = EPSILON
    r_max: float = R_MAX
    d_max: float = D_MAX
    warmup_steps: int = WARMUP_STEPS

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        features = x.shape[-1]
        mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((features,), jnp.float32))
        var = self.variable("batch_stats", "var", lambda: jnp.ones((features,), jnp.float32))
        steps = self.variable("batch_stats", "steps", lambda: jnp.zeros((), jnp.int32))
        scale = self.param("scale", nn.initializers.ones, (features,))
        bias = self.param("bias", nn.initializers.zeros, (features,))
        if not train:
            x_hat = (x - mean.value) / jnp.sqrt(var.value + self.epsilon)
            return x_hat * scale + bias
        axes = tuple(range(x.ndim - 1))
        batch_mean = jnp.mean(x, axis=axes)
        batch_var = jnp.mean(jnp.square(x - batch_mean), axis=axes)
        r, d = renorm_corrections(batch_mean, batch_var, mean.value, var.value, self.epsilon, self.r_max, self.d_max)
        warm = steps.value >= self.warmup_steps
        r, d = jnp.where(warm, r, 1.0), jnp.where(warm, d, 0.0)
        x_hat = (x - batch_mean) / jnp.sqrt(batch_var + self.epsilon) * r + d
        if not self.is_initializing():  # init sees a dummy batch: the statistics stay at (0, 1, 0)
            m = self.momentum
            mean.value = m * mean.value + (1.0 - m) * batch_mean
            var.value = m * var.value + (1.0 - m) * batch_var
            steps.value = steps.value + 1
        return x_hat * scale + bias
