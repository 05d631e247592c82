"""XiNet Bernoulli gates (pruning paper; spec ``shared/design/xinet.md`` Sec. 1).

Every prunable unit j of a layer has a gate xi_j ~ Bernoulli(pi_j) that multiplies its
post-activation output. The gate parameters ``pi`` (in [0, 1]) and a boolean ``alive`` mask live
in the train state as a ``Gates`` pytree with one array per maskable layer (shape [..., n_l]:
leading axes for ensemble members, e.g. the twin Q networks, each with its own gates).

* Training mode (``train_masks``): one realisation per minibatch and layer, drawn from an
  explicit key and shared by every sample of the batch (spec Sec. 0: per-sample masks would be a
  different estimator). The straight-through form ``pi + stop_gradient(xi - pi)`` has the
  forward value xi and d/dpi = d/dxi, the first-order estimate of L(xi_j=1) - L(xi_j=0)
  (spec eq. 7); weights get the ordinary gradients of the sampled subnetwork.
* Evaluation mode (``eval_masks``): scale by pi instead of sampling (spec Sec. 1.6).
* ``step``: Adam on the estimated pi gradient, then the projection clip(pi, 0, 1) * alive
  (spec eq. 6 with Sec. 1.8's reading); frozen outside its window.
* ``prune``: a unit whose pi fell below ``eps`` is dead for good (pi = 0, alive = False).
* ``round_gates``: at the configured fraction of training every pi goes to 0 or 1 and freezes.
"""
from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import optax
from flax import struct


@struct.dataclass
class Gates:
    """Per-layer gate parameters of one network; ``opt_state`` is Adam's over ``pi``."""

    pi: tuple  # float32 [..., n_l] per maskable layer
    alive: tuple  # bool [..., n_l]
    opt_state: Any


def init_gates(widths: Sequence[int], optimizer: optax.GradientTransformation, pi0: float = 1.0,
               lead: tuple[int, ...] = ()) -> Gates:
    """Gates of a network whose maskable layers have ``widths``; ``lead`` adds leading axes
    (``(num_q,)`` for an ensemble). pi starts at ``pi0`` everywhere (spec 1.7: [C] 1, the full
    deterministic network)."""
    if not 0.0 < pi0 <= 1.0:
        raise ValueError(f"initial gate probability must be in (0, 1], got {pi0!r}")
    pi = tuple(jnp.full(lead + (int(w),), pi0, jnp.float32) for w in widths)
    alive = tuple(jnp.ones(lead + (int(w),), bool) for w in widths)
    return Gates(pi=pi, alive=alive, opt_state=optimizer.init(pi))


def optimizer(lr: float, pi_lr: float | None = None) -> optax.GradientTransformation:
    """Adam for the gate parameters: ``pi_lr``, or the network's weight learning rate ``lr``
    (spec 1.8's reading)."""
    return optax.adam(pi_lr or lr)


def train_masks(pi: Sequence[jax.Array], alive: Sequence[jax.Array], key: jax.Array) -> list[jax.Array]:
    """Straight-through gate samples, one per layer, each shared by the whole minibatch.

    A function of ``pi`` so callers differentiate their loss with respect to it; dead units get
    a zero mask and a zero gradient."""
    keys = jax.random.split(key, len(pi))
    masks = []
    for p, a, k in zip(pi, alive, keys):
        xi = jax.random.bernoulli(k, p).astype(p.dtype)
        masks.append((p + jax.lax.stop_gradient(xi - p)) * a)
    return masks


def eval_masks(gates: Gates) -> list[jax.Array]:
    """Evaluation mode: each unit scaled by pi (dead units by 0); no gradient into pi."""
    return [jax.lax.stop_gradient(p * a) for p, a in zip(gates.pi, gates.alive)]


def expected_widths(gates: Gates) -> list[jax.Array]:
    """1^T pi per layer [...]: the expected number of active units (spec Sec. 0, S_l / N_l)."""
    return [jnp.sum(p * a, axis=-1) for p, a in zip(gates.pi, gates.alive)]


def step(gates: Gates, grads, optimizer: optax.GradientTransformation, active: jax.Array) -> Gates:
    """One projected Adam step on pi where ``active`` (a traced bool) holds; otherwise the gates
    and Adam's moments stay as they are, so warm-up and the rounded phase do not build momentum."""
    updates, opt_state = optimizer.update(grads, gates.opt_state, gates.pi)
    stepped = optax.apply_updates(gates.pi, updates)
    pi = tuple(jnp.where(active, jnp.clip(s, 0.0, 1.0) * a, p) for s, p, a in zip(stepped, gates.pi, gates.alive))
    opt_state = jax.tree.map(lambda new, old: jnp.where(active, new, old), opt_state, gates.opt_state)
    return gates.replace(pi=pi, opt_state=opt_state)


def prune(gates: Gates, eps: float) -> Gates:
    """Units with pi < eps are removed for good: alive False, pi 0 (spec 1.7, [C] eps 1e-3)."""
    alive = tuple(a & (p >= eps) for p, a in zip(gates.pi, gates.alive))
    pi = tuple(p * a for p, a in zip(gates.pi, alive))
    return gates.replace(pi=pi, alive=alive)


def round_gates(gates: Gates, when: jax.Array | bool = True) -> Gates:
    """Final rounding where ``when`` holds: pi >= 0.5 -> 1 (alive), else 0 (dead)."""
    alive = tuple(jnp.where(when, a & (p >= 0.5), a) for p, a in zip(gates.pi, gates.alive))
    pi = tuple(jnp.where(when, a.astype(p.dtype), p) for p, a in zip(gates.pi, alive))
    return gates.replace(pi=pi, alive=alive)


def alive_counts(gates: Gates) -> list[jax.Array]:
    return [jnp.sum(a, axis=-1) for a in gates.alive]


def gate_metrics(name: str, gates: Gates) -> dict[str, jax.Array]:
    """Per layer: alive units and mean pi over the live ones (metrics.jsonl, the paper's Fig. 5).
    Ensemble members are summed (alive) and averaged (pi)."""
    out = {}
    for i, (p, a) in enumerate(zip(gates.pi, gates.alive)):
        out[f"gates/{name}/{i}/alive"] = jnp.sum(a).astype(jnp.float32)
        out[f"gates/{name}/{i}/pi_mean"] = jnp.sum(p * a) / jnp.maximum(jnp.sum(a), 1)
    return out
