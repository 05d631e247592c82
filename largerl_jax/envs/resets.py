"""Auto-reset of batched JAX envs that runs reset physics only for the envs that ended.

Reset physics (mjx.forward) costs about a step, so ``reset_where`` runs it for none of the
envs on the usual step where none ended; when at most K = ``max_resets_per_step`` did, for K
envs (the ended ones) spread over the batch by a gather; only when more ended at once, for the
whole batch. Each env draws from its own key, so all three give the same states. Under an outer
vmap (over seeds) these branches would become selects that run every reset on every step: the
trainer therefore steps the envs of all seeds as one folded batch (envs.fold_envs), never under
a vmap. Shared by the Brax and Playground envs.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from largerl_jax.envs.base import EnvState, env_keys, split_keys


def select(mask: jax.Array, on_true, on_false):
    """Per-env ``where`` over two pytrees whose leaves all lead with the env axis."""

    def pick(a, b):
        a, b = jnp.asarray(a), jnp.asarray(b)
        return jnp.where(mask.reshape(mask.shape + (1,) * (b.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, on_true, on_false)


def expand(fresh, idx, batch: int):
    """Spread K fresh env states (for envs ``idx``) over a batch: row i is fresh[j] where
    idx[j] = i (any row elsewhere, to be masked). A gather per leaf: scattering into every leaf of
    a Brax state cost more on CPU than the resets it saved."""
    slot = jnp.zeros((batch,), jnp.int32).at[idx].set(jnp.arange(idx.shape[0], dtype=jnp.int32))
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x)[slot], fresh)


def max_resets_per_step(batch: int) -> int:
    """How many envs one step resets through the cheap path: an eighth of the batch. More
    simultaneous episode ends reset the whole batch instead."""
    return max(1, -(-batch // 8))


def reset_where(reset_batch, done: jax.Array, draw: jax.Array, stepped):
    """``stepped`` with the envs that ended (``done`` [B]) replaced by ``reset_batch(draw)``'s."""
    with jax.named_scope("env_reset"):
        return _reset_where(reset_batch, done, draw, stepped)


def _reset_where(reset_batch, done, draw, stepped):
    batch = done.shape[0]
    k = max_resets_per_step(batch)

    def reset_all(s):
        return select(done, reset_batch(draw), s)

    def reset_some(s):
        idx = jnp.nonzero(done, size=k, fill_value=0)[0]  # the ended envs (at most k)
        return select(done, expand(reset_batch(draw[idx]), idx, batch), s)

    if k >= batch:
        return jax.lax.cond(jnp.any(done), reset_all, lambda s: s, stepped)
    ended = jnp.sum(done)
    branch = jnp.where(ended == 0, 0, jnp.where(ended <= k, 1, 2))
    return jax.lax.switch(branch, [lambda s: s, reset_some, reset_all], stepped)


def initial_state(reset_batch, key: jax.Array, num_envs: int, flat_obs) -> EnvState:
    """The batch's first state: per-env keys from ``key``, every env reset with its own draw;
    ``flat_obs`` turns the simulator's observations into float32 [N, obs_dim]."""
    keys, draw = split_keys(env_keys(key, num_envs))
    inner = reset_batch(draw)
    return EnvState(obs=flat_obs(inner.obs), t=jnp.zeros((num_envs,), jnp.int32), key=keys, inner=inner)
