"""Dense layer with optional spectral normalization (Miyato et al. 2018; Bjorck et al. 2021).

The kernel is divided by an estimate of its largest singular value. The estimate comes from a
power-iteration vector ``u`` (shape [features]) carried in the 'spectral' collection:

* ``train=True``: ``sn_iters`` power iterations start from the stored u and the new u is written
  back (apply with ``mutable=['spectral', ...]``).
* ``train=False``: the stored u is used but not changed, so acting and target computation are
  deterministic and need no mutable collections.

In both modes sigma is computed from the u in hand by the same formula,
``v = normalize(W^T u); sigma = ||W v||``, so train and eval agree for equal parameters and u.
Here W is the [features, in] matrix of the map; Flax stores its transpose as the kernel.
u and v are constants for the gradient (stop_gradient), as in Miyato et al.

Two departures from PyTorch's ``torch.nn.utils.spectral_norm`` as DrQ-based code (Bjorck et al.)
uses it, both only in how sigma is estimated, never in what is normalised:

* Iterations per update. PyTorch runs one power iteration per training-mode forward call, and
  DrQ's update calls the critic in training mode three times (two augmented copies of the batch,
  then the actor's loss), so its critic's u takes about three iterations per update; ours takes
  ``sn_iters`` (default 1) per update, in the one training-mode pass. Set ``sn_iters=3`` to
  match the count.
* The target network's u. PyTorch's target critic is a copy with its own u buffer (DrQ's soft
  update copies parameters, not buffers) that iterates on every target forward call; our target
  networks carry no u of their own and are applied, in evaluation mode, with the online
  network's u (``trainable.target_collections``). The target's weights are a slow average of the
  online ones, so the online u is a warm estimate of their top singular vector too.

With warm starts a single iteration tracks sigma closely: tests/networks/test_spectral_norm.py
checks the estimate against the SVD, and tests/training/test_diagnostics.py checks that the
normalised layers' exact largest singular value stays near 1 through training.
"""
from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Initializer = Callable[..., Any]


def _normalize(x: jax.Array, eps: float) -> jax.Array:
    return x / (jnp.linalg.norm(x) + eps)


def power_iteration(kernel: jax.Array, u: jax.Array, iters: int, eps: float = 1e-12) -> jax.Array:
    """``iters`` steps of u <- normalize(W normalize(W^T u)) for a Flax kernel [in, out]."""
    kernel = jax.lax.stop_gradient(kernel)

    def step(_, u):
        v = _normalize(kernel @ u, eps)
        return _normalize(v @ kernel, eps)

    return jax.lax.fori_loop(0, iters, step, jax.lax.stop_gradient(u))


def sigma_from_u(kernel: jax.Array, u: jax.Array, eps: float = 1e-12) -> jax.Array:
    """Estimate of the largest singular value of a Flax kernel [in, out]; differentiable in the
    kernel only."""
    v = jax.lax.stop_gradient(_normalize(kernel @ jax.lax.stop_gradient(u), eps))
    return jnp.linalg.norm(v @ kernel)


def _random_unit_vector(key: jax.Array, size: int) -> jax.Array:
    return _normalize(jax.random.normal(key, (size,), jnp.float32), 1e-12)


class SNDense(nn.Module):
    """``y = x (K / sigma(K)) + b`` when ``use_sn``, else a plain Dense; bias never normalized.

    Parameters live at 'params/<name>/{kernel,bias}', u at 'spectral/<name>/u'."""

    features: int
    use_sn: bool = False
    sn_iters: int = 1
    use_bias: bool = True
    kernel_init: Initializer = nn.initializers.lecun_normal()
    bias_init: Initializer = nn.initializers.zeros_init()
    eps: float = 1e-12

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), jnp.float32)
        y = x @ kernel
        if self.use_sn:
            # x (K / sigma) as (x K) / sigma: the same map and gradients without a pass that
            # rescales the whole kernel, which dominated acting on one observation (4-10x).
            y = y / jnp.maximum(self._sigma(kernel, train), self.eps)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32)
        return y

    def _sigma(self, kernel: jax.Array, train: bool) -> jax.Array:
        # A lambda so the 'params' rng is only requested when u is created (at init).
        u_var = self.variable(
            "spectral", "u", lambda: _random_unit_vector(self.make_rng("params"), self.features)
        )
        u = u_var.value
        if train:
            u = power_iteration(kernel, u, self.sn_iters, self.eps)
            u_var.value = u
        return sigma_from_u(kernel, u, self.eps)
