"""One interface over the three replays (uniform, prioritized, frames), so that the learner and
the run code never ask which kind they hold.

A kind is a static, hashable description (it is a field of the frozen ``Learner``); the buffer
it makes is the pytree in the train state. Every kind has:

- ``init(capacity, spec, num_envs)`` (``spec``: the env's ``obs_dim``, ``act_dim`` and
  ``frame_shape``), ``insert(buffer, transition)``, ``break_episodes(buffer)``,
  ``transition(obs, action, info, episode_start)`` (what a host loop stores: the stored
  transition type of the kind; ``info`` holds next_obs, reward, terminated, truncated),
  ``bytes_per_row(spec)`` and ``min_rows(num_envs)`` (the smallest buffer it can make);
- ``sample(buffer, key, shape)``: uniform batches of ``shape`` over stored transitions (any kind,
  for pre-training, auxiliary models and analyses);
- ``updates(buffer, agent_state, key, grad_steps, num_updates, batch_size, update, aux)``: the
  iteration's gradient steps with batches drawn the kind's way. Uniform kinds gather all batches
  before the update scan (the buffer is read once); the prioritized kind samples each update
  with the priorities the previous one wrote. ``update(agent_state, batch, key, weights)`` and
  ``aux(agent_state, batch, key)`` (None: the agent has no auxiliary model) return (agent
  state, metrics).

On a restored buffer (host side, without a kind): ``rows_of(buffer)`` is its ring of rows and
``gather_rows(buffer, idx)`` its transitions; each buffer class says how through its
``rows``/``gather_rows``.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from largerl_jax.replay import buffer as rb
from largerl_jax.replay import frames, prioritized
from largerl_jax.replay.nstep import nstep_rows, nstep_transition


def with_nstep(rows: rb.ReplayBuffer, gather, idx: jax.Array, n: int):
    """(the agent's batch, the one-step batch) of rows ``idx``: the n-step transitions
    (replay.nstep) and the plain ones they start from, or (the plain batch, None) when n is 1.
    ``gather``: the kind's row gatherer (frame stacks for the frame replay)."""
    first = gather(idx)
    if n == 1:
        return first, None
    plan = nstep_rows(rows, idx, n)
    return nstep_transition(first, gather(plan.last), plan), first


def _uniform_updates(sample_pair, buffer, agent_state, key, grad_steps, num_updates, batch_size, update, aux,
                     unrolled: bool):
    key, k_sample, k_update = jax.random.split(key, 3)
    with jax.named_scope("replay_sample"):
        batches, one_step = sample_pair(buffer, k_sample, (num_updates, batch_size))

    def grad_step(agent_state, inputs):
        batch, plain, k = inputs
        k_aux, k_update = jax.random.split(k)
        # The uniform batch serves the auxiliary model as well (unbiased), one-step: it models
        # the env's next observation.
        plain = batch if plain is None else plain
        agent_state, aux_metrics = (agent_state, {}) if aux is None else aux(agent_state, plain, k_aux)
        agent_state, metrics = update(agent_state, batch, k_update, None)
        metrics.pop("priority", None)
        return agent_state, {**metrics, **aux_metrics}

    inputs = (batches, one_step, jax.random.split(k_update, num_updates))
    if unrolled:
        # XLA:CPU runs the conv update 9x slower inside a scan's loop body, even a fully
        # unrolled one (2.5 vs 0.27 s at batch 16, 2 cores, 2026-11-22); a traced Python
        # loop keeps the convs at top level. U is 1 in DrQ, so the program stays small.
        steps = []
        for i in range(num_updates):
            agent_state, m = grad_step(agent_state, jax.tree.map(lambda x, i=i: x[i], inputs))
            steps.append(m)
        metrics = jax.tree.map(lambda *xs: jnp.stack(xs), *steps)
    else:
        with jax.named_scope("update"):
            agent_state, metrics = jax.lax.scan(grad_step, agent_state, inputs)
    return agent_state, buffer, key, grad_steps + num_updates, metrics


@dataclasses.dataclass(frozen=True)
class UniformReplay:
    """``buffer.ReplayBuffer``: flat observations stored once in per-env rings. ``nstep``: the
    agent's batches are n-step transitions (replay.nstep); other samples stay one-step."""

    nstep: int = 1
    name = "uniform"

    def init(self, capacity: int, spec, num_envs: int = 1):
        return rb.init_buffer(capacity, spec.obs_dim, spec.act_dim, num_envs)

    def insert(self, buffer, trans):
        return rb.insert(buffer, trans)

    def transition(self, obs, action, info: dict, episode_start):
        return rb.Transition(obs=obs, action=action, **info)

    def break_episodes(self, buffer):
        return rb.break_episodes(buffer)

    def bytes_per_row(self, spec) -> int:
        return rb.bytes_per_transition(spec.obs_dim, spec.act_dim)

    def min_rows(self, num_envs: int) -> int:
        return 2 * num_envs

    def sample(self, buffer, key, shape: tuple[int, ...]):
        return rb.gather(buffer, rb.sample_indices(buffer, key, math.prod(shape)).reshape(shape))

    def sample_pair(self, buffer, key, shape: tuple[int, ...]):
        """(the agent's batch, its one-step batch) of ``shape`` uniform rows."""
        idx = rb.sample_indices(buffer, key, math.prod(shape)).reshape(shape)
        return with_nstep(buffer, lambda i: rb.gather(buffer, i), idx, self.nstep)

    def updates(self, buffer, agent_state, key, grad_steps, num_updates, batch_size, update, aux):
        return _uniform_updates(self.sample_pair, buffer, agent_state, key, grad_steps, num_updates, batch_size,
                                update, aux, unrolled=False)


@dataclasses.dataclass(frozen=True)
class FrameReplay:
    """``frames.FrameReplay``: single uint8 frames stored once, stacks of ``stack`` built when
    sampled, for agents that read frame stacks."""

    stack: int
    nstep: int = 1
    name = "frames"

    def init(self, capacity: int, spec, num_envs: int = 1):
        if spec.frame_shape is None:
            raise ValueError("the agent reads pixels but the env has flat observations")
        return frames.init_frame_replay(capacity, spec.act_dim, num_envs, self.stack, spec.frame_shape)

    def insert(self, buffer, trans):
        return frames.insert_transition(buffer, trans)

    def transition(self, obs, action, info: dict, episode_start):
        return frames.FrameTransition(obs=obs, action=action, episode_start=episode_start, **info)

    def break_episodes(self, buffer):
        return frames.break_episodes(buffer)

    def bytes_per_row(self, spec) -> int:
        return frames.bytes_per_transition(spec.act_dim, spec.frame_shape)

    def min_rows(self, num_envs: int) -> int:  # the frame replay's smallest rings
        return (self.stack + 2) * num_envs

    def sample(self, buffer, key, shape: tuple[int, ...]):
        # frames.gather builds stacks for a flat index vector
        batch = frames.gather(buffer, rb.sample_indices(buffer.core, key, math.prod(shape)))
        return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), batch)

    def sample_pair(self, buffer, key, shape: tuple[int, ...]):
        idx = rb.sample_indices(buffer.core, key, math.prod(shape))
        pair = with_nstep(buffer.core, lambda i: frames.gather(buffer, i), idx, self.nstep)
        return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), pair)

    def updates(self, buffer, agent_state, key, grad_steps, num_updates, batch_size, update, aux):
        return _uniform_updates(self.sample_pair, buffer, agent_state, key, grad_steps, num_updates, batch_size,
                                update, aux, unrolled=True)


@dataclasses.dataclass(frozen=True)
class PrioritizedReplay:
    """Proportional prioritized replay (Schaul et al. 2016) over a ``buffer.ReplayBuffer``:
    P(i) ~ p_i^alpha with p_i the latest |TD error| + eps; importance weights with exponent beta,
    annealed linearly from beta0 to 1 over ``beta_steps`` gradient steps (the run's total)."""

    alpha: float
    beta0: float
    eps: float
    beta_steps: int
    nstep: int = 1
    name = "prioritized"

    def init(self, capacity: int, spec, num_envs: int = 1):
        return prioritized.init_prioritized(capacity, spec.obs_dim, spec.act_dim, num_envs)

    def insert(self, buffer, trans):
        return prioritized.insert_prioritized(buffer, trans, self.alpha)

    def transition(self, obs, action, info: dict, episode_start):
        return UniformReplay().transition(obs, action, info, episode_start)

    def break_episodes(self, buffer):
        return buffer.replace(buffer=rb.break_episodes(buffer.buffer))

    def bytes_per_row(self, spec) -> int:
        return rb.bytes_per_transition(spec.obs_dim, spec.act_dim)

    def min_rows(self, num_envs: int) -> int:
        return 2 * num_envs

    def sample(self, buffer, key, shape: tuple[int, ...]):
        return UniformReplay().sample(buffer.buffer, key, shape)

    def updates(self, buffer, agent_state, key, grad_steps, num_updates, batch_size, update, aux):
        """Each update samples with the priorities the previous one wrote; the auxiliary model
        gets a uniform sample of its own from the same buffer."""
        beta_at = prioritized.linear_schedule(self.beta0, 1.0, self.beta_steps)
        key, sub = jax.random.split(key)

        def grad_step(carry, k):
            agent_state, buffer, step = carry
            k_sample, k_aux_sample, k_aux, k_update = jax.random.split(k, 4)
            aux_metrics = {}
            if aux is not None:
                aux_idx = rb.sample_indices(buffer.buffer, k_aux_sample, batch_size)
                agent_state, aux_metrics = aux(agent_state, rb.gather(buffer.buffer, aux_idx), k_aux)
            beta = beta_at(step)
            idx, weights = prioritized.sample_prioritized_indices(buffer, k_sample, batch_size, beta)
            batch, _ = with_nstep(buffer.buffer, lambda i: rb.gather(buffer.buffer, i), idx, self.nstep)
            agent_state, metrics = update(agent_state, batch, k_update, weights)
            buffer = prioritized.update_priorities(buffer, idx, metrics.pop("priority"), self.alpha, self.eps)
            metrics["per_beta"] = beta
            metrics["per_weight_mean"] = weights.mean()
            return (agent_state, buffer, step + 1), {**metrics, **aux_metrics}

        (agent_state, buffer, grad_steps), metrics = jax.lax.scan(
            grad_step, (agent_state, buffer, grad_steps), jax.random.split(sub, num_updates))
        return agent_state, buffer, key, grad_steps, metrics


def replay_kind(frame_stack: int | None = None, priority: PrioritizedReplay | None = None, nstep: int = 1):
    """The kind a run needs: frames for agents that read ``frame_stack`` frames, else
    ``priority`` when given, else uniform; the agent's batches n-step with ``nstep`` > 1."""
    if nstep < 1:
        raise ValueError(f"n-step returns need n >= 1, got {nstep}")
    if frame_stack is not None:
        if priority is not None:
            raise ValueError("prioritized replay is not supported for pixel agents: their replay is the frame replay")
        return FrameReplay(frame_stack, nstep)
    if priority is None:
        return UniformReplay(nstep)
    return priority if priority.nstep == nstep else dataclasses.replace(priority, nstep=nstep)


def rows_of(buffer) -> rb.ReplayBuffer:
    """The ring of rows of any replay buffer (its valid flags, positions and counts)."""
    return buffer.rows


def gather_rows(buffer, idx: jax.Array) -> rb.Transition:
    """Transitions of rows ``idx`` of any replay buffer (frame stacks for the frame replay)."""
    return buffer.gather_rows(idx)
