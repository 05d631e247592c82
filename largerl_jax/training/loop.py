"""Scan-composed training for one seed; the runner jits and vmaps these over seeds.

An iteration collects one step from each of the N parallel envs with the latest policy, stores
the N transitions, then takes U gradient steps: the update-to-data ratio is U / N. A chunk is a
``lax.scan`` over iterations; metrics come back as chunk averages, nothing is printed inside.

A chunk runs one phase: 'warmup' (uniform random actions, no updates), 'pretrain' (the agent's
pre-training updates on the warm-up data, no env steps, e.g. OFENet) or 'train'.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from largerl_jax import replay
from largerl_jax.agents import Agent
from largerl_jax.training.state import TrainState

PHASES = ("warmup", "pretrain", "train")


def _finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]
    return jnp.all(jnp.stack(leaves))


def _chunk_mean(stacked: dict) -> dict:
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
    """Replay insertion and the U gradient steps, shared by on-device and host env loops."""

    agent: Agent
    batch_size: int
    updates_per_iteration: int
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
            return replay.init_buffer(capacity, obs_dim, act_dim)
        return replay.init_prioritized(capacity, obs_dim, act_dim)

    def _uniform(self, buffer):
        return buffer if self.priority is None else buffer.buffer

    def store(self, ts: TrainState, trans: replay.Transition) -> TrainState:
        if self.priority is None:
            buffer = replay.insert(ts.replay, trans)
        else:
            buffer = replay.insert_prioritized(ts.replay, trans, self.priority.alpha)
        return ts.replace(replay=buffer, env_steps=ts.env_steps + trans.reward.shape[0])

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


@dataclasses.dataclass(frozen=True)
class DeviceLoop:
    """Training and evaluation for envs that step inside jit (pure-JAX, Brax/MJX)."""

    learner: Learner
    env: object  # JaxVecEnv with N envs
    eval_env: object  # JaxVecEnv with E envs

    @property
    def agent(self) -> Agent:
        return self.learner.agent

    def init(self, key: jax.Array, replay_capacity: int) -> TrainState:
        k_state, k_env = jax.random.split(key)
        ts = self.learner.init_state(k_state, replay_capacity, self.env.spec)
        return ts.replace(
            env=self.env.reset(k_env), episode_return=jnp.zeros((self.env.num_envs,), jnp.float32)
        )

    def _collect(self, ts: TrainState, random_actions: bool):
        key, k_act = jax.random.split(ts.key)
        obs = ts.env.obs
        if random_actions:
            action = jax.random.uniform(k_act, (self.env.num_envs, self.env.spec.act_dim), minval=-1.0, maxval=1.0)
        else:
            action = self.agent.act(ts.agent, obs, k_act, False)
        env_state, res = self.env.step(ts.env, action)
        trans = replay.Transition(
            obs=obs,
            action=action,
            reward=res.reward,
            next_obs=res.next_obs,
            terminated=res.terminated,
            truncated=res.truncated,
        )
        done = jnp.maximum(res.terminated, res.truncated)
        ep_ret = ts.episode_return + res.reward
        episode_stats = {
            "finished_return_sum": jnp.sum(done * ep_ret),
            "finished_episodes": jnp.sum(done),
            "invalid_steps": jnp.sum(res.invalid),
        }
        ts = ts.replace(env=env_state, key=key, episode_return=ep_ret * (1.0 - done))
        return ts, trans, episode_stats

    def chunk(self, ts: TrainState, num_iterations: int, phase: str) -> tuple[TrainState, dict]:
        """``num_iterations`` iterations of one phase (see the module docstring)."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")

        def iteration(ts, _):
            out = {"finished_episodes": 0.0, "finished_return_sum": 0.0, "invalid_steps": 0.0}
            if phase != "pretrain":
                ts, trans, out = self._collect(ts, random_actions=phase == "warmup")
                ts = self.learner.store(ts, trans)
            if phase != "warmup":
                ts, metrics = self.learner.learn(ts, pretrain=phase == "pretrain")
                out = {**out, **{k: jnp.nanmean(v) for k, v in metrics.items()}}
            return ts, out

        ts, stacked = jax.lax.scan(iteration, ts, None, length=num_iterations)
        finished = stacked.pop("finished_episodes").sum()
        ret_sum = stacked.pop("finished_return_sum").sum()
        invalid = stacked.pop("invalid_steps").sum()
        metrics = _chunk_mean(stacked)
        metrics["train_return"] = jnp.where(finished > 0, ret_sum / jnp.maximum(finished, 1.0), jnp.nan)
        metrics["train_episodes"] = finished
        metrics["env_invalid_steps"] = invalid
        metrics["finite"] = _finite(ts.agent)
        return ts, metrics

    def evaluate(self, ts: TrainState, key: jax.Array) -> jax.Array:
        """Deterministic-policy returns of E episodes run in parallel, one per eval env: [E]."""
        env = self.eval_env
        env_state = env.reset(key)
        num = env.num_envs

        def step(carry, _):
            env_state, ret, alive = carry
            action = self.agent.act(ts.agent, env_state.obs, key, True)
            env_state, res = env.step(env_state, action)
            ret = ret + alive * res.reward
            alive = alive * (1.0 - jnp.maximum(res.terminated, res.truncated))
            return (env_state, ret, alive), None

        init = (env_state, jnp.zeros((num,), jnp.float32), jnp.ones((num,), jnp.float32))
        (_, ret, _), _ = jax.lax.scan(step, init, None, length=env.spec.episode_length)
        return ret


def compile_vmapped(fn: Callable, donate: bool = True):
    """jit(vmap(fn)) over the leading seed axis of every argument; donating the train state lets
    XLA update the replay buffer in place."""
    return jax.jit(jax.vmap(fn), donate_argnums=(0,) if donate else ())


class VmappedDeviceLoop:
    """A DeviceLoop over S seeds: one jit(vmap(...)) program per chunk length, compiled once."""

    def __init__(self, loop: DeviceLoop):
        self.loop = loop
        self._chunks: dict = {}
        self._eval = jax.jit(jax.vmap(lambda ts: loop.evaluate(ts, jax.random.fold_in(ts.key, 0x5EED))))

    def init(self, keys: jax.Array, replay_capacity: int) -> TrainState:
        return jax.jit(jax.vmap(lambda k: self.loop.init(k, replay_capacity)))(keys)

    def abstract_state(self, keys: jax.Array, replay_capacity: int):
        return jax.eval_shape(jax.vmap(lambda k: self.loop.init(k, replay_capacity)), keys)

    def chunk(self, ts: TrainState, num_iterations: int, phase: str):
        fn = self._chunks.get((num_iterations, phase))
        if fn is None:
            fn = compile_vmapped(lambda s: self.loop.chunk(s, num_iterations, phase))
            self._chunks[(num_iterations, phase)] = fn
        return fn(ts)

    def evaluate(self, ts: TrainState) -> jax.Array:
        return self._eval(ts)

    def close(self) -> None:
        pass
