"""Brax tasks (MJX or Brax's own pipelines) batched with our own auto-reset.

Brax's training wrappers overwrite the final observation with the reset one; we keep it in
``StepResult.next_obs`` so time-limit truncations can be bootstrapped correctly.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.envs.base import EnvSpec, EnvState, StepResult, env_keys, split_keys
from largerl_jax.envs.brax_fixes import patch_system
from largerl_jax.envs.quiet import third_party_noise_filtered

BRAX_TASKS = ("ant", "halfcheetah", "hopper", "walker2d", "humanoid", "inverted_pendulum", "reacher")
BRAX_BACKENDS = ("mjx", "generalized", "positional", "spring")

# These tasks map [-1, 1] onto their actuator ctrlrange inside Brax's own step(); every other
# task has ctrlrange [-1, 1] (checked in __init__), so no rescaling is ever needed on our side.
_SELF_SCALING = ("humanoid", "inverted_pendulum")


def _check_action_bounds(name: str, sys) -> None:
    if name in _SELF_SCALING:
        return
    ctrl = np.asarray(sys.actuator.ctrl_range)
    if not np.allclose(ctrl, [-1.0, 1.0]):
        raise ValueError(f"brax task {name!r} has ctrl_range {ctrl.tolist()}, expected [-1, 1]")


def _select(mask: jax.Array, on_true, on_false):
    """Per-env ``where`` over two pytrees whose leaves all lead with the env axis."""

    def pick(a, b):
        a, b = jnp.asarray(a), jnp.asarray(b)
        return jnp.where(mask.reshape(mask.shape + (1,) * (b.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, on_true, on_false)


def _expand(fresh, idx, batch: int):
    """Spread K fresh env states (for envs ``idx``) over a batch: row i is fresh[j] where
    idx[j] = i (any row elsewhere, to be masked). A gather per leaf: scattering into every leaf of
    a Brax state cost more on CPU than the resets it saved."""
    slot = jnp.zeros((batch,), jnp.int32).at[idx].set(jnp.arange(idx.shape[0], dtype=jnp.int32))
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x)[slot], fresh)


def max_resets_per_step(batch: int) -> int:
    """How many envs one step resets through the cheap path (see ``BraxVecEnv.step``): an
    eighth of the batch. More simultaneous episode ends reset the whole batch instead."""
    return max(1, -(-batch // 8))


class BraxVecEnv:
    """``num_envs`` copies of a Brax task; termination = Brax ``done``, truncation = our counter."""

    def __init__(self, name: str, num_envs: int, backend: str = "mjx", episode_length: int = 1000):
        if name not in BRAX_TASKS:
            raise ValueError(f"unknown brax task {name!r}; available: {list(BRAX_TASKS)}")
        if backend not in BRAX_BACKENDS:
            raise ValueError(f"unknown brax backend {backend!r}; available: {list(BRAX_BACKENDS)}")
        with third_party_noise_filtered():
            from brax import envs as brax_envs  # heavy import, only when a Brax task is built

            env = brax_envs.get_environment(name, backend=backend)
        env.sys = patch_system(name, backend, env.sys)
        _check_action_bounds(name, env.sys)

        self._env = env
        self.name = name
        self.backend = backend
        self.num_envs = int(num_envs)
        # eval_shape instead of env.observation_size: the latter runs an eager, op-by-op reset.
        obs_dim = int(jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs.shape[-1])
        self.spec = EnvSpec(
            name=name, obs_dim=obs_dim, act_dim=int(env.action_size), episode_length=int(episode_length)
        )
        self._reset_batch = jax.vmap(env.reset)
        self._step_batch = jax.vmap(env.step)

    def reset(self, key: jax.Array) -> EnvState:
        keys, draw = split_keys(env_keys(key, self.num_envs))
        inner = self._reset_batch(draw)
        return EnvState(
            obs=inner.obs.astype(jnp.float32),
            t=jnp.zeros((self.num_envs,), jnp.int32),
            key=keys,
            inner=inner,
        )

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        action = jnp.clip(action, -1.0, 1.0)
        inner = self._step_batch(state.inner, action)
        t = state.t + 1
        # Last line of defence after the solver settings in brax_fixes: a blown-up simulation
        # ends the episode and is reset, and its NaNs never reach the learner (terminated
        # transitions are not bootstrapped, but NaN * 0 is still NaN in a target).
        finite = jnp.isfinite(inner.obs).all(axis=-1) & jnp.isfinite(inner.reward)
        inner = inner.replace(
            obs=jnp.where(finite[:, None], inner.obs, 0.0),
            reward=jnp.where(finite, inner.reward, 0.0),
        )
        terminated = (inner.done > 0.5) | ~finite
        truncated = (t >= self.spec.episode_length) & ~terminated
        done = terminated | truncated
        result = StepResult(
            next_obs=inner.obs.astype(jnp.float32),
            reward=inner.reward.astype(jnp.float32),
            terminated=terminated.astype(jnp.float32),
            truncated=truncated.astype(jnp.float32),
            invalid=(~finite).astype(jnp.float32),
        )

        keys, draw = split_keys(state.key)
        inner = self._reset_where(done, draw, inner)
        new_state = EnvState(
            obs=inner.obs.astype(jnp.float32),
            t=jnp.where(done, 0, t).astype(jnp.int32),
            key=keys,
            inner=inner,
        )
        return new_state, result

    def _reset_where(self, done: jax.Array, draw: jax.Array, stepped):
        """Replace the physics state of the envs that ended with fresh ones.

        Reset physics (mjx.forward) costs about a step, so it runs only for envs that ended:
        nothing on the usual step where none did; when at most K = ``max_resets_per_step`` did,
        a reset of K envs (the ended ones) spread over the batch by a gather; only when more ended
        at once, a reset of the whole batch. Each env draws from its own key, so all three give the same
        states. Under an outer vmap (over seeds) these branches would become selects that run
        every reset on every step: the trainer therefore steps the envs of all seeds as one
        folded batch (envs.fold_envs), never under a vmap."""
        batch = done.shape[0]
        k = max_resets_per_step(batch)

        def reset_all(s):
            return _select(done, self._reset_batch(draw), s)

        def reset_some(s):
            idx = jnp.nonzero(done, size=k, fill_value=0)[0]  # the ended envs (at most k)
            return _select(done, _expand(self._reset_batch(draw[idx]), idx, batch), s)

        if k >= batch:
            return jax.lax.cond(jnp.any(done), reset_all, lambda s: s, stepped)
        ended = jnp.sum(done)
        branch = jnp.where(ended == 0, 0, jnp.where(ended <= k, 1, 2))
        return jax.lax.switch(branch, [lambda s: s, reset_some, reset_all], stepped)
