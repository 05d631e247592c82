"""Scan-composed training of S seeds with envs that step inside jit (pure-JAX, Brax/MJX).

An iteration collects one step from each of the N parallel envs of every seed with that seed's
latest policy, stores the N transitions in each seed's replay, then takes U gradient steps per
seed: the update-to-data ratio is U / N. A chunk is a ``lax.scan`` over iterations; metrics
come back as per-seed chunk averages, nothing is printed inside.

Seeds are a leading axis of the train state. The agent's act, the replay and the updates are
vmapped over it, but the S x N envs are stepped as one folded batch (``envs.fold_envs``): under
a vmap, the env's "reset only if some episode ended" cond would become a select, running reset
physics on every step for every env.

A chunk runs one phase: 'warmup' (uniform random actions, no updates), 'pretrain' (the agent's
pre-training updates on the warm-up data, no env steps, e.g. OFENet; a pre-training chunk's
length counts updates, not iterations) or 'train'.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from largerl_jax import replay
from largerl_jax.agents import Agent
from largerl_jax.envs import fold_envs, split_keys, unfold_envs
from largerl_jax.training.learner import Learner
from largerl_jax.training.seed_map import seed_map
from largerl_jax.training.state import TrainState

PHASES = ("warmup", "pretrain", "train")
EVAL_KEY_SALT = 0x5EED


def divergence_metrics(ts: TrainState) -> dict:
    """Each seed's divergence record (see Learner), reported with every chunk's metrics."""
    return {"diverged": ts.diverged, "diverged_at": ts.diverged_at, "diverged_what": ts.diverged_what}


@dataclasses.dataclass(frozen=True)
class DeviceLoop:
    """Training and evaluation of a seed-batched train state (every leaf leads with S)."""

    learner: Learner
    env: object  # JaxVecEnv with N envs per seed
    eval_env: object  # JaxVecEnv with E envs per seed
    one_seed_unbatched: bool = True  # training.seed_map: a one-seed batch runs unvmapped

    @property
    def agent(self) -> Agent:
        return self.learner.agent

    def init_one(self, key: jax.Array, replay_capacity: int, hparams=None) -> TrainState:
        """One seed's train state (vmap it over seed keys and carried hyperparameters)."""
        k_state, k_env = jax.random.split(key)
        ts = self.learner.init_state(k_state, replay_capacity, self.env.spec, hparams)
        return ts.replace(
            env=self.env.reset(k_env), episode_return=jnp.zeros((self.env.num_envs,), jnp.float32)
        )

    def _act(self, deterministic: bool):
        """One seed's act, with the agent of its carried hyperparameters."""
        return lambda a, o, k, hp: self.learner.with_hparams(hp).agent.act(a, o, k, deterministic)

    def _step_envs(self, env, env_state, action):
        """One step of the S x N envs of all seeds as a single batch."""
        num_seeds = action.shape[0]
        folded, res = env.step(fold_envs(env_state), fold_envs(action))
        return unfold_envs(folded, num_seeds), unfold_envs(res, num_seeds)

    def _collect(self, ts: TrainState, random_actions: bool):
        key, k_act = split_keys(ts.key)
        obs = ts.env.obs  # [S, N, obs_dim]
        with jax.named_scope("act"):
            if random_actions:
                shape = (self.env.num_envs, self.env.spec.act_dim)
                action = jax.vmap(lambda k: jax.random.uniform(k, shape, minval=-1.0, maxval=1.0))(k_act)
            else:
                action = seed_map(self._act(False), unbatch_one=self.one_seed_unbatched)(ts.agent, obs, k_act, ts.hparams)
        with jax.named_scope("env_step"):
            env_state, res = self._step_envs(self.env, ts.env, action)
        trans = replay.Transition(
            obs=obs,
            action=action,
            reward=res.reward,
            next_obs=res.next_obs,
            terminated=res.terminated,
            truncated=res.truncated,
        )
        with jax.named_scope("metrics"):
            done = jnp.maximum(res.terminated, res.truncated)
            ep_ret = ts.episode_return + res.reward
            episode_stats = {
                "finished_return_sum": jnp.sum(done * ep_ret, axis=1),
                "finished_episodes": jnp.sum(done, axis=1),
                "invalid_steps": jnp.sum(res.invalid, axis=1),
            }
        ts = ts.replace(env=env_state, key=key, episode_return=ep_ret * (1.0 - done))
        return ts, trans, episode_stats

    def chunk(self, ts: TrainState, num_iterations: int, phase: str) -> tuple[TrainState, dict]:
        """``num_iterations`` iterations of one phase (see the module docstring); metrics [S]."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        if phase == "pretrain":
            # num_iterations counts pre-training updates: they take no env steps.
            ts, metrics = jax.vmap(lambda t: self.learner.pretrain(t, num_iterations))(ts)
            metrics = {k: jnp.nanmean(v, axis=1) for k, v in metrics.items()}
            return ts, {**metrics, **divergence_metrics(ts)}
        store = seed_map(self.learner.store, unbatch_one=self.one_seed_unbatched)
        learn = seed_map(self.learner.learn, unbatch_one=self.one_seed_unbatched)

        def iteration(ts, _):
            ts, trans, out = self._collect(ts, random_actions=phase == "warmup")
            with jax.named_scope("replay_insert"):
                ts = store(ts, trans)
            if phase != "warmup":
                ts, metrics = learn(ts)
                with jax.named_scope("metrics"):
                    out = {**out, **{k: jnp.nanmean(v, axis=1) for k, v in metrics.items()}}
            return ts, out

        ts, stacked = jax.lax.scan(iteration, ts, None, length=num_iterations)
        finished = stacked.pop("finished_episodes").sum(axis=0)
        ret_sum = stacked.pop("finished_return_sum").sum(axis=0)
        invalid = stacked.pop("invalid_steps").sum(axis=0)
        metrics = {k: jnp.nanmean(v, axis=0) for k, v in stacked.items()}
        metrics["train_return"] = jnp.where(finished > 0, ret_sum / jnp.maximum(finished, 1.0), jnp.nan)
        metrics["train_episodes"] = finished
        metrics["env_invalid_steps"] = invalid
        return ts, {**metrics, **divergence_metrics(ts)}

    def evaluate(self, ts: TrainState) -> jax.Array:
        """Deterministic-policy returns of E episodes per seed, run in parallel: [S, E]."""
        env = self.eval_env
        keys = jax.vmap(lambda k: jax.random.fold_in(k, EVAL_KEY_SALT))(ts.key)
        env_state = jax.vmap(env.reset)(keys)
        shape = (keys.shape[0], env.num_envs)

        def step(carry, _):
            env_state, ret, alive = carry
            action = jax.vmap(self._act(True))(ts.agent, env_state.obs, keys, ts.hparams)
            env_state, res = self._step_envs(env, env_state, action)
            ret = ret + alive * res.reward
            alive = alive * (1.0 - jnp.maximum(res.terminated, res.truncated))
            return (env_state, ret, alive), None

        init = (env_state, jnp.zeros(shape, jnp.float32), jnp.ones(shape, jnp.float32))
        (_, ret, _), _ = jax.lax.scan(step, init, None, length=env.spec.episode_length)
        return ret


class SeedBatchedDeviceLoop:
    """A DeviceLoop's compiled programs: one per (chunk length, phase), each jitted once with the
    train state donated so that XLA updates the replay buffers in place."""

    def __init__(self, loop: DeviceLoop):
        self.loop = loop
        self._chunks: dict = {}
        self._eval = jax.jit(loop.evaluate)

    @property
    def spec(self):
        return self.loop.env.spec

    @property
    def agent(self):
        return self.loop.agent

    @property
    def learner(self):
        return self.loop.learner

    def quantity_names(self) -> list[str]:
        """See Learner.quantity_names."""
        return self.loop.learner.quantity_names(self.spec)

    def init(self, keys: jax.Array, replay_capacity: int, hparams=None) -> TrainState:
        return jax.jit(jax.vmap(lambda k, hp: self.loop.init_one(k, replay_capacity, hp)))(keys, hparams)

    def abstract_state(self, keys: jax.Array, replay_capacity: int, hparams=None):
        return jax.eval_shape(jax.vmap(lambda k, hp: self.loop.init_one(k, replay_capacity, hp)), keys, hparams)

    def chunk_fn(self, num_iterations: int, phase: str):
        """The jitted chunk program (for ``.lower(...)`` in benchmarks and HLO checks)."""
        fn = self._chunks.get((num_iterations, phase))
        if fn is None:
            def chunk(s):
                return self.loop.chunk(s, num_iterations, phase)

            chunk.__name__ = f"{phase}_chunk"  # the XLA module's name, for profiles
            fn = jax.jit(chunk, donate_argnums=(0,))
            self._chunks[(num_iterations, phase)] = fn
        return fn

    def chunk(self, ts: TrainState, num_iterations: int, phase: str):
        return self.chunk_fn(num_iterations, phase)(ts)

    def evaluate(self, ts: TrainState) -> jax.Array:
        return self._eval(ts)

    def close(self) -> None:
        pass

