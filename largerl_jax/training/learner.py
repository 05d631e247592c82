"""Replay insertion and the U gradient steps of one iteration, for one seed (the loops vmap it),
shared by the on-device and the host env loops."""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import jax.numpy as jnp

from largerl_jax import replay
from largerl_jax.agents import Agent
from largerl_jax.replay import frames
from largerl_jax.training.state import TrainState


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
    """Per-seed replay and updates. ``num_envs`` is the number of env streams the replay holds.

    Divergence isolation: after each iteration's U updates the learner checks the agent's losses
    and parameters. A seed with a non-finite one keeps its last finite agent state from then on
    (``TrainState.diverged``; its updates are masked inside the compiled step, so the other
    seeds of a vmapped run go on exactly as they would alone), and the train state records the
    env step and the first non-finite quantity (an index into ``quantity_names``)."""

    agent: Agent
    batch_size: int
    updates_per_iteration: int
    num_envs: int = 1
    priority: PrioritySettings | None = None  # None: uniform replay
    # hparams -> the agent built with those carried hyperparameters (training.hyperparams);
    # None: the run carries none
    agent_factory: Callable | None = None

    def __post_init__(self):
        if self.pixels and self.priority is not None:
            raise ValueError("prioritized replay is not supported for pixel agents: their replay is the frame replay")

    def with_hparams(self, hparams) -> "Learner":
        """This learner with the agent rebuilt for one element's carried hyperparameters (traced
        values inside the compiled programs); itself when the run carries none."""
        if not hparams:
            return self
        if self.agent_factory is None:
            raise ValueError("the train state carries hyperparameters but the learner has no agent factory")
        return dataclasses.replace(self, agent=self.agent_factory(hparams))

    @property
    def pixels(self) -> bool:
        """The agent reads frame stacks: the replay is ``replay.frames``' (single frames stored
        once, stacks built when sampled) and the stored transitions are ``FrameTransition``s."""
        return self.agent.frame_stack is not None

    def init_state(self, key: jax.Array, replay_capacity: int, spec, hparams=None) -> TrainState:
        """Agent, replay, key and counters; the env loop adds its env state."""
        k_agent, k_run = jax.random.split(key)
        return TrainState(
            agent=self.with_hparams(hparams).agent.init(k_agent),
            replay=self.init_replay(replay_capacity, spec.obs_dim, spec.act_dim, spec.frame_shape),
            env=None,
            key=k_run,
            env_steps=jnp.int32(0),
            grad_steps=jnp.int32(0),
            episode_return=None,
            diverged=jnp.bool_(False),
            diverged_at=jnp.int32(-1),
            diverged_what=jnp.int32(-1),
            hparams=hparams,
        )

    def init_replay(self, capacity: int, obs_dim: int, act_dim: int, frame_shape=None):
        if self.pixels:
            if frame_shape is None:
                raise ValueError(f"agent {self.agent.name!r} reads pixels but the env has flat observations")
            return frames.init_frame_replay(capacity, act_dim, self.num_envs, self.agent.frame_stack, frame_shape)
        if self.priority is None:
            return replay.init_buffer(capacity, obs_dim, act_dim, self.num_envs)
        return replay.init_prioritized(capacity, obs_dim, act_dim, self.num_envs)

    def _uniform(self, buffer):
        return buffer if self.priority is None else buffer.buffer

    def _sample(self, buffer, key, shape: tuple[int, ...]):
        """Uniform batches of ``shape`` (e.g. [U, B]) from a uniform or frame replay."""
        if not self.pixels:
            return replay.gather(buffer, replay.sample_indices(buffer, key, math.prod(shape)).reshape(shape))
        # frames.gather builds stacks for a flat index vector
        batch = frames.gather(buffer, replay.sample_indices(buffer.core, key, math.prod(shape)))
        return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), batch)

    def sample_uniform(self, ts: TrainState, key: jax.Array, batch_size: int):
        """A uniform batch of ``batch_size`` stored transitions (frame stacks for pixel agents),
        from any kind of replay: for analyses such as the critic's effective rank."""
        return self._sample(self._uniform(ts.replay), key, (batch_size,))

    def store(self, ts: TrainState, trans) -> TrainState:
        """``trans``: a ``replay.Transition``, or for pixel agents a ``frames.FrameTransition``."""
        if self.pixels:
            buffer = frames.insert_transition(ts.replay, trans)
        elif self.priority is None:
            buffer = replay.insert(ts.replay, trans)
        else:
            buffer = replay.insert_prioritized(ts.replay, trans, self.priority.alpha)
        return ts.replace(replay=buffer, env_steps=ts.env_steps + trans.reward.shape[0])

    def break_episodes(self, ts: TrainState) -> TrainState:
        """See ``replay.break_episodes``: for host envs that restart their episodes."""
        if self.pixels:
            return ts.replace(replay=frames.break_episodes(ts.replay))
        if self.priority is None:
            return ts.replace(replay=replay.break_episodes(ts.replay))
        return ts.replace(replay=ts.replay.replace(buffer=replay.break_episodes(ts.replay.buffer)))

    # --- updates ------------------------------------------------------------------------------

    def learn(self, ts: TrainState) -> tuple[TrainState, dict]:
        """U updates (``agent.aux_update`` then ``agent.update`` each), masked for a diverged seed,
        with the agent of ``ts``' carried hyperparameters."""
        return self.with_hparams(ts.hparams)._learn(ts)

    def _learn(self, ts: TrainState) -> tuple[TrainState, dict]:
        new, metrics = self._learn_raw(ts)
        with jax.named_scope("divergence_guard"):
            return self._guard(ts, new, metrics), metrics

    def _learn_raw(self, ts: TrainState) -> tuple[TrainState, dict]:
        return self._learn_prioritized(ts) if self.priority is not None else self._learn_uniform(ts)

    def pretrain(self, ts: TrainState, num_updates: int) -> tuple[TrainState, dict]:
        """``num_updates`` of ``agent.pretrain``, each on its own uniform batch; they are not
        gradient steps of the agent (``grad_steps`` does not move)."""
        return self.with_hparams(ts.hparams)._pretrain(ts, num_updates)

    def _pretrain(self, ts: TrainState, num_updates: int) -> tuple[TrainState, dict]:
        key, sub = jax.random.split(ts.key)
        buffer = self._uniform(ts.replay)

        def step(agent_state, k):
            k_sample, k_update = jax.random.split(k)
            batch = self._sample(buffer, k_sample, (self.batch_size,))
            return self.agent.pretrain(agent_state, batch, k_update)

        agent_state, metrics = jax.lax.scan(step, ts.agent, jax.random.split(sub, num_updates))
        # Parameters only, numbered as in training (after its metrics): one list of names.
        offset = len(self._checked_metrics(jax.eval_shape(self._learn_raw, ts)[1]))
        return self._guard(ts, ts.replace(agent=agent_state, key=key), {}, offset), metrics

    def _aux(self, agent_state, batch, key):
        if self.agent.aux_update is None:
            return agent_state, {}
        return self.agent.aux_update(agent_state, batch, key)

    def _learn_uniform(self, ts: TrainState) -> tuple[TrainState, dict]:
        key, k_sample, k_update = jax.random.split(ts.key, 3)
        u, b = self.updates_per_iteration, self.batch_size
        # All U batches are gathered before the update scan, so the buffer is read once.
        with jax.named_scope("replay_sample"):
            batches = self._sample(ts.replay, k_sample, (u, b))

        def grad_step(agent_state, inputs):
            batch, k = inputs
            k_aux, k_update = jax.random.split(k)
            # The uniform batch serves the auxiliary model as well: it is already unbiased.
            agent_state, aux_metrics = self._aux(agent_state, batch, k_aux)
            agent_state, metrics = self.agent.update(agent_state, batch, k_update)
            metrics.pop("priority", None)
            return agent_state, {**metrics, **aux_metrics}

        inputs = (batches, jax.random.split(k_update, u))
        if self.pixels:
            # XLA:CPU runs the conv update 9x slower inside a scan's loop body, even a fully
            # unrolled one (2.5 vs 0.27 s at batch 16, 2 cores, 2026-11-22); a traced Python
            # loop keeps the convs at top level. U is 1 in DrQ, so the program stays small.
            agent_state, steps = ts.agent, []
            for i in range(u):
                agent_state, m = grad_step(agent_state, jax.tree.map(lambda x, i=i: x[i], inputs))
                steps.append(m)
            metrics = jax.tree.map(lambda *xs: jnp.stack(xs), *steps)
        else:
            with jax.named_scope("update"):
                agent_state, metrics = jax.lax.scan(grad_step, ts.agent, inputs)
        ts = ts.replace(agent=agent_state, key=key, grad_steps=ts.grad_steps + u)
        return ts, metrics

    def _learn_prioritized(self, ts: TrainState) -> tuple[TrainState, dict]:
        """U updates, each sampling with the priorities the previous one wrote; the auxiliary
        model gets a uniform sample of its own from the same buffer."""
        p = self.priority
        beta_at = replay.linear_schedule(p.beta0, 1.0, p.beta_steps)
        key, sub = jax.random.split(ts.key)

        def grad_step(carry, k):
            agent_state, buffer, step = carry
            k_sample, k_aux_sample, k_aux, k_update = jax.random.split(k, 4)
            if self.agent.aux_update is not None:
                aux_idx = replay.sample_indices(buffer.buffer, k_aux_sample, self.batch_size)
                agent_state, aux_metrics = self._aux(agent_state, replay.gather(buffer.buffer, aux_idx), k_aux)
            else:
                aux_metrics = {}
            beta = beta_at(step)
            idx, weights = replay.sample_prioritized_indices(buffer, k_sample, self.batch_size, beta)
            batch = replay.gather(buffer.buffer, idx)
            agent_state, metrics = self.agent.update(agent_state, batch, k_update, weights=weights)
            buffer = replay.update_priorities(buffer, idx, metrics.pop("priority"), p.alpha, p.eps)
            metrics["per_beta"] = beta
            metrics["per_weight_mean"] = weights.mean()
            return (agent_state, buffer, step + 1), {**metrics, **aux_metrics}

        carry = (ts.agent, ts.replay, ts.grad_steps)
        (agent_state, buffer, grad_steps), metrics = jax.lax.scan(
            grad_step, carry, jax.random.split(sub, self.updates_per_iteration)
        )
        return ts.replace(agent=agent_state, replay=buffer, key=key, grad_steps=grad_steps), metrics

    # --- divergence isolation -----------------------------------------------------------------

    def _checked_metrics(self, metrics: dict) -> list[str]:
        optional = set(self.agent.optional_metrics)
        return sorted((k for k in metrics if k not in optional), key=_check_order)

    def _finite_flags(self, agent_state, metrics: dict) -> jax.Array:
        flags = [jnp.all(jnp.isfinite(metrics[k])) for k in self._checked_metrics(metrics)]
        flags += [jnp.all(jnp.isfinite(x)) for _, x in _float_leaves(agent_state)]
        return jnp.stack(flags)

    def _guard(self, old: TrainState, new: TrainState, metrics: dict, offset: int = 0) -> TrainState:
        flags = self._finite_flags(new.agent, metrics)
        ok = jnp.all(flags) & ~old.diverged
        newly = ~jnp.all(flags) & ~old.diverged
        agent = jax.tree.map(lambda n, o: jnp.where(ok, n, o), new.agent, old.agent)
        return new.replace(
            agent=agent,
            diverged=old.diverged | newly,
            diverged_at=jnp.where(newly, new.env_steps, old.diverged_at),
            diverged_what=jnp.where(newly, jnp.argmin(flags).astype(jnp.int32) + offset, old.diverged_what),
        )

    def quantity_names(self, spec) -> list[str]:
        """Names of the quantities the divergence check looks at, in ``diverged_what`` order:
        the training metrics, then the agent's floating-point leaves."""
        rows = max(2 * self.num_envs, self.batch_size)
        if self.pixels:  # the frame replay's smallest rings
            rows = max(rows, (self.agent.frame_stack + 2) * self.num_envs)
        rows = -(-rows // self.num_envs) * self.num_envs
        ts, metrics = jax.eval_shape(lambda k: self.learn(self.init_state(k, rows, spec)), jax.random.PRNGKey(0))
        names = self._checked_metrics(metrics)
        return names + ["agent" + path for path, _ in _float_leaves(ts.agent)]


# Losses upstream first: within one update every later loss reads the earlier networks (a NaN
# TD target shows in the critic loss, then in the actor's), so the first non-finite quantity
# reported is the likely origin. Other metrics follow by name, then the parameters.
_LOSS_ORDER = ("ofe_loss", "critic_loss", "value_loss", "actor_loss", "alpha_loss")


def _check_order(name: str) -> tuple[int, str]:
    return (_LOSS_ORDER.index(name) if name in _LOSS_ORDER else len(_LOSS_ORDER), name)


def _float_leaves(tree) -> list[tuple[str, jax.Array]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [
        (jax.tree_util.keystr(path), x) for path, x in leaves if jnp.issubdtype(x.dtype, jnp.floating)
    ]
