"""Replay insertion and the U gradient steps of one iteration, for one seed (the loops vmap it),
shared by the on-device and the host env loops."""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from largerl_jax.agents import Agent
from largerl_jax.replay.kinds import UniformReplay
from largerl_jax.training.state import TrainState


def chunk_mean(stacked: dict) -> dict:
    # nanmean: some metrics are NaN on purpose when undefined (TD3's actor loss on critic-only steps).
    return {k: jnp.nanmean(v) for k, v in stacked.items()}


@dataclasses.dataclass(frozen=True)
class Learner:
    """Per-seed replay and updates. ``num_envs`` is the number of env streams the replay holds;
    ``replay`` is its kind (``replay.kinds``: how it stores, samples and feeds the U updates).

    Divergence isolation: after each iteration's U updates the learner checks the agent's losses
    and parameters. A seed with a non-finite one keeps its last finite agent state from then on
    (``TrainState.diverged``; its updates are masked inside the compiled step, so the other
    seeds of a vmapped run go on exactly as they would alone), and the train state records the
    env step and the first non-finite quantity (an index into ``quantity_names``)."""

    agent: Agent
    batch_size: int
    updates_per_iteration: int
    num_envs: int = 1
    replay: object = UniformReplay()  # a replay.kinds kind
    # hparams -> the agent built with those carried hyperparameters (training.hyperparams);
    # None: the run carries none
    agent_factory: Callable | None = None

    def __post_init__(self):
        reads = self.agent.frame_stack is not None
        if reads != (self.replay.name == "frames"):
            raise ValueError(f"agent {self.agent.name!r} {'reads' if reads else 'does not read'} frame stacks "
                             f"but the replay is {self.replay.name!r}")

    def with_hparams(self, hparams) -> "Learner":
        """This learner with the agent rebuilt for one element's carried hyperparameters (traced
        values inside the compiled programs); itself when the run carries none."""
        if not hparams:
            return self
        if self.agent_factory is None:
            raise ValueError("the train state carries hyperparameters but the learner has no agent factory")
        return dataclasses.replace(self, agent=self.agent_factory(hparams))

    def init_state(self, key: jax.Array, replay_capacity: int, spec, hparams=None) -> TrainState:
        """Agent, replay, key and counters; the env loop adds its env state."""
        k_agent, k_run = jax.random.split(key)
        return TrainState(
            agent=self.with_hparams(hparams).agent.init(k_agent),
            replay=self.replay.init(replay_capacity, spec, self.num_envs),
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

    def sample_uniform(self, ts: TrainState, key: jax.Array, batch_size: int):
        """A uniform batch of ``batch_size`` stored transitions (frame stacks for pixel agents),
        from any kind of replay: for analyses such as the critic's effective rank."""
        return self.replay.sample(ts.replay, key, (batch_size,))

    def store(self, ts: TrainState, trans) -> TrainState:
        """``trans``: a ``replay.Transition``, or for pixel agents a ``frames.FrameTransition``.
        An agent with ``observe`` (running statistics) takes in the transitions, and
        one with ``after_store`` (resets) sees the env-step count move."""
        steps = ts.env_steps + trans.reward.shape[0]
        agent = ts.agent if self.agent.observe is None else self.agent.observe(ts.agent, trans)
        if self.agent.after_store is not None:
            agent = self.agent.after_store(agent, ts.env_steps, steps)
        return ts.replace(replay=self.replay.insert(ts.replay, trans), env_steps=steps, agent=agent)

    def break_episodes(self, ts: TrainState) -> TrainState:
        """See ``replay.break_episodes``: for host envs that restart their episodes."""
        return ts.replace(replay=self.replay.break_episodes(ts.replay))

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
        agent_state, buffer, key, grad_steps, metrics = self.replay.updates(
            ts.replay, ts.agent, ts.key, ts.grad_steps, self.updates_per_iteration, self.batch_size,
            lambda a, batch, k, weights: self.agent.update(a, batch, k) if weights is None
            else self.agent.update(a, batch, k, weights=weights),
            self.agent.aux_update)
        return ts.replace(agent=agent_state, replay=buffer, key=key, grad_steps=grad_steps), metrics

    def pretrain(self, ts: TrainState, num_updates: int) -> tuple[TrainState, dict]:
        """``num_updates`` of ``agent.pretrain``, each on its own uniform batch; they are not
        gradient steps of the agent (``grad_steps`` does not move)."""
        return self.with_hparams(ts.hparams)._pretrain(ts, num_updates)

    def _pretrain(self, ts: TrainState, num_updates: int) -> tuple[TrainState, dict]:
        key, sub = jax.random.split(ts.key)

        def step(agent_state, k):
            k_sample, k_update = jax.random.split(k)
            batch = self.replay.sample(ts.replay, k_sample, (self.batch_size,))
            return self.agent.pretrain(agent_state, batch, k_update)

        agent_state, metrics = jax.lax.scan(step, ts.agent, jax.random.split(sub, num_updates))
        # Parameters only, numbered as in training (after its metrics): one list of names.
        offset = len(self._checked_metrics(jax.eval_shape(self._learn_raw, ts)[1]))
        return self._guard(ts, ts.replace(agent=agent_state, key=key), {}, offset), metrics

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
        rows = max(self.replay.min_rows(self.num_envs), self.batch_size)
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
