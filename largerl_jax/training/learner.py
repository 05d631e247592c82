"""Replay insertion and the U gradient steps of one iteration, for one seed (the loops vmap it),
shared by the on-device and the host env loops."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from largerl_jax import replay
from largerl_jax.agents import Agent
from largerl_jax.training.state import TrainState


def all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]
    return jnp.all(jnp.stack(leaves))


def chunk_mean(stacked: dict) -> dict:
    # nanmean: some metrics are NaN on purpose when undefined (TD3's actor loss on critic-only steps).
    return {k: jnp.nanmean(v) for k, v in stacked.items()}


@dataclasses.dataclass(frozen=True)
class PrioritySettings:
    """Proportional prioritized replay (Schaul et al. 2016): P(i) ~ p_i^alpha with p_i the latest
    |TD error| + eps; importance weights with exponent beta, annealed linearly from beta0 to 1
    over ``beta_steps`` gradient steps (the run's total)."""

    alpha: float
    beta0: float
    eps: float
    beta_steps: int


@dataclasses.dataclass(frozen=True)
class Learner:
    """Per-seed replay and updates. ``num_envs`` is the number of env streams the replay holds."""

    agent: Agent
    batch_size: int
    updates_per_iteration: int
    num_envs: int = 1
    priority: PrioritySettings | None = None  # None: uniform replay

    def init_state(self, key: jax.Array, replay_capacity: int, spec) -> TrainState:
        """Agent, replay, key and counters; the env loop adds its env state."""
        k_agent, k_run = jax.random.split(key)
        return TrainState(
            agent=self.agent.init(k_agent),
            replay=self.init_replay(replay_capacity, spec.obs_dim, spec.act_dim),
            env=None,
            key=k_run,
            env_steps=jnp.int32(0),
            grad_steps=jnp.int32(0),
            episode_return=None,
        )

    def init_replay(self, capacity: int, obs_dim: int, act_dim: int):
        if self.priority is None:
            return replay.init_buffer(capacity, obs_dim, act_dim, self.num_envs)
        return replay.init_prioritized(capacity, obs_dim, act_dim, self.num_envs)

    def _uniform(self, buffer):
        return buffer if self.priority is None else buffer.buffer

    def store(self, ts: TrainState, trans: replay.Transition) -> TrainState:
        if self.priority is None:
            buffer = replay.insert(ts.replay, trans)
        else:
            buffer = replay.insert_prioritized(ts.replay, trans, self.priority.alpha)
        return ts.replace(replay=buffer, env_steps=ts.env_steps + trans.reward.shape[0])

    def break_episodes(self, ts: TrainState) -> TrainState:
        """See ``replay.break_episodes``: for host envs that restart their episodes."""
        if self.priority is None:
            return ts.replace(replay=replay.break_episodes(ts.replay))
        return ts.replace(replay=ts.replay.replace(buffer=replay.break_episodes(ts.replay.buffer)))

    def learn(self, ts: TrainState, pretrain: bool = False) -> tuple[TrainState, dict]:
        """U updates (``agent.update``, or ``agent.pretrain`` for the pre-training phase, which
        does not count as gradient steps of the agent)."""
        if self.priority is not None and not pretrain:
            return self._learn_prioritized(ts)
        update = self.agent.pretrain if pretrain else self.agent.update
        key, k_sample, k_update = jax.random.split(ts.key, 3)
        u, b = self.updates_per_iteration, self.batch_size
        # All U batches are gathered before the update scan, so the buffer is read once.
        buffer = self._uniform(ts.replay)
        idx = replay.sample_indices(buffer, k_sample, u * b).reshape(u, b)
        batches = replay.gather(buffer, idx)

        def grad_step(agent_state, inputs):
            batch, k = inputs
            agent_state, metrics = update(agent_state, batch, k)
            metrics.pop("priority", None)
            return agent_state, metrics

        agent_state, metrics = jax.lax.scan(grad_step, ts.agent, (batches, jax.random.split(k_update, u)))
        grad_steps = ts.grad_steps + (0 if pretrain else self.updates_per_iteration)
        ts = ts.replace(agent=agent_state, key=key, grad_steps=grad_steps)
        return ts, metrics

    def _learn_prioritized(self, ts: TrainState) -> tuple[TrainState, dict]:
        """U updates, each sampling with the priorities the previous one wrote."""
        p = self.priority
        beta_at = replay.linear_schedule(p.beta0, 1.0, p.beta_steps)
        key, sub = jax.random.split(ts.key)

        def grad_step(carry, k):
            agent_state, buffer, step = carry
            k_sample, k_update = jax.random.split(k)
            beta = beta_at(step)
            idx, weights = replay.sample_prioritized_indices(buffer, k_sample, self.batch_size, beta)
            batch = replay.gather(buffer.buffer, idx)
            agent_state, metrics = self.agent.update(agent_state, batch, k_update, weights=weights)
            buffer = replay.update_priorities(buffer, idx, metrics.pop("priority"), p.alpha, p.eps)
            metrics["per_beta"] = beta
            metrics["per_weight_mean"] = weights.mean()
            return (agent_state, buffer, step + 1), metrics

        carry = (ts.agent, ts.replay, ts.grad_steps)
        (agent_state, buffer, grad_steps), metrics = jax.lax.scan(
            grad_step, carry, jax.random.split(sub, self.updates_per_iteration)
        )
        return ts.replace(agent=agent_state, replay=buffer, key=key, grad_steps=grad_steps), metrics
