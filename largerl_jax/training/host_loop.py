"""Training over S seeds with host-stepped (Gymnasium) vector envs.

The envs live in Python, so an iteration is two compiled calls around a host step: act for all
seeds at once, step each seed's vector env, then store and learn for all seeds at once. The
replay, agent and PRNG keys still live in the train state; the Gymnasium physics state does not,
so a resumed run starts fresh episodes (its learner state is restored exactly, and the replay
keeps the last stored next observations as final ones, see ``replay.break_episodes``).

Pixel agents (``agent.frame_stack``): the envs return single frames and their ``episode_start``
flags; the replay kind stores the frames (``replay.frames``) and the agent acts on stacks of the
last k frames, kept here per env (``training.frame_stacks``), in training and evaluation alike.
Flat-observation envs start an episode wherever the last one ended (they reset automatically).

No call copies the replay: ``act`` reads the agent and the keys only and returns actions and
new keys (returning the whole train state from a call that does not donate it copied the buffer
on every action), and store-and-learn donates the train state so the insert is in place.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.training.frame_stacks import AgentObs
from largerl_jax.training.learner import Learner, chunk_mean
from largerl_jax.training.loop import divergence_metrics
from largerl_jax.training.seed_map import seed_map
from largerl_jax.training.state import TrainState


def _no_carried(hparams) -> None:
    # Host envs step outside the compiled programs, one seed-batch per process; a grid runs
    # their points as separate programs instead of carrying hyperparameters.
    if hparams:
        raise ValueError("host (Gymnasium) env runs cannot carry hyperparameters; their grid points run one by one")


def eval_seed(seed: int, env_steps: int) -> int:
    """The eval envs' reset seed: a function of checkpointed numbers only, so a resumed run
    evaluates on the episodes an uninterrupted one would have, and no two evaluations share one."""
    return int(np.random.SeedSequence([seed, env_steps, 0x5EED]).generate_state(1)[0])


def _episode_starts(results) -> np.ndarray:
    """[S, N] from the seeds' (obs, info) step results: whether each returned observation opens an
    episode (the env says so, or else its episode just ended and it reset)."""
    return np.stack([info["episode_start"] if "episode_start" in info
                     else np.maximum(info["terminated"], info["truncated"]) for _, info in results])


class HostLoop:
    def __init__(self, learner: Learner, make_env: Callable, num_envs: int, eval_episodes: int, seeds: list[int],
                 one_seed_unbatched: bool = True):
        self.learner = learner
        self.agent = learner.agent
        self.seeds = list(seeds)
        self.envs = [make_env(num_envs, seed) for seed in self.seeds]
        self.eval_envs = [make_env(eval_episodes, 10_000 + seed) for seed in self.seeds]
        self.spec = self.envs[0].spec
        self.num_envs = num_envs
        self._obs = None  # [S, N, ...] what the envs last returned (single frames for pixel agents)
        self._first = None  # [S, N] self._obs opens its episode
        self._acting = AgentObs(learner.agent.frame_stack)
        self._eval_acting = AgentObs(learner.agent.frame_stack)
        self._agent_obs = None  # what the agent acts on: self._obs, or its frame stacks
        self._episode_return = np.zeros((len(self.seeds), num_envs), np.float32)

        def act(agent_state, key, obs, warmup: bool):  # (pre-training never acts)
            key, k_act = jax.random.split(key)
            if warmup:
                action = jax.random.uniform(k_act, (num_envs, self.spec.act_dim), minval=-1.0, maxval=1.0)
            else:
                action = self.agent.act(agent_state, obs, k_act, False)
            return action, key

        def store_and_learn(ts, trans, phase: str):
            ts = learner.store(ts, trans)
            if phase == "warmup":
                return ts, {}
            ts, metrics = learner.learn(ts)
            return ts, {k: jnp.nanmean(v) for k, v in metrics.items()}

        def pretrain(ts, num_updates: int):
            ts, metrics = learner.pretrain(ts, num_updates)
            return ts, {k: jnp.nanmean(v) for k, v in metrics.items()}

        unbatch = one_seed_unbatched  # training.seed_map
        self._act = {w: jax.jit(seed_map(lambda a, k, o, w=w: act(a, k, o, w), unbatch_one=unbatch))
                     for w in (False, True)}
        self._learn = {
            p: jax.jit(seed_map(lambda ts, t, p=p: store_and_learn(ts, t, p), unbatch_one=unbatch), donate_argnums=(0,))
            for p in ("warmup", "train")
        }
        self._pretrain = jax.jit(
            jax.vmap(pretrain, in_axes=(0, None)), static_argnums=(1,), donate_argnums=(0,)
        )
        self._deterministic = jax.jit(jax.vmap(lambda a, o: self.agent.act(a, o, jax.random.PRNGKey(0), True)))
        self._break_episodes = jax.jit(jax.vmap(learner.break_episodes), donate_argnums=(0,))

    def learn_fn(self, phase: str):
        """The jitted store-and-learn program of a phase (for ``.lower(...)`` in benchmarks and
        HLO checks); it takes (train state, Transition batch [S, N, ...])."""
        return self._learn[phase]

    def act_fn(self, warmup: bool = False):
        """The jitted act program: (agent states, keys, obs [S, N, obs_dim]) -> (actions, keys)."""
        return self._act[warmup]

    def quantity_names(self) -> list[str]:
        """See Learner.quantity_names."""
        return self.learner.quantity_names(self.spec)

    def init(self, keys, replay_capacity: int, hparams=None) -> TrainState:
        _no_carried(hparams)
        return jax.jit(jax.vmap(lambda k: self.learner.init_state(k, replay_capacity, self.spec)))(keys)

    def abstract_state(self, keys, replay_capacity: int, hparams=None):
        _no_carried(hparams)
        return jax.eval_shape(jax.vmap(lambda k: self.learner.init_state(k, replay_capacity, self.spec)), keys)

    def _reset(self):
        self._obs = np.stack([env.reset(seed) for env, seed in zip(self.envs, self.seeds)])
        self._first = np.ones(self._obs.shape[:2], np.float32)
        self._agent_obs = self._acting.reset(self._obs)
        self._episode_return[:] = 0.0

    def chunk(self, ts: TrainState, num_iterations: int, phase: str):
        if self._obs is None:
            self._reset()
            ts = self._break_episodes(ts)  # a no-op on a fresh replay
        history = []
        finished_sum = np.zeros(len(self.seeds))
        finished_n = np.zeros(len(self.seeds))
        invalid_n = np.zeros(len(self.seeds))
        if phase == "pretrain":  # num_iterations counts updates, run as one compiled scan
            ts, metrics = self._pretrain(ts, num_iterations)
            history.append(metrics)
            num_iterations = 0
        for _ in range(num_iterations):
            action, key = self._act[phase == "warmup"](ts.agent, ts.key, self._agent_obs)
            ts = ts.replace(key=key)
            action = np.asarray(action)
            results = [env.step(a) for env, a in zip(self.envs, action)]
            obs = self._obs
            self._obs = np.stack([r[0] for r in results])
            info = {k: np.stack([r[1][k] for r in results]) for k in ("next_obs", "reward", "terminated", "truncated")}
            trans = self.learner.replay.transition(obs, action, info, self._first)
            self._first = _episode_starts(results)
            self._agent_obs = self._acting.step(self._obs, self._first)
            ts, metrics = self._learn[phase](ts, trans)
            history.append(metrics)
            done = np.maximum(info["terminated"], info["truncated"])
            self._episode_return += info["reward"]
            finished_sum += (done * self._episode_return).sum(axis=1)
            finished_n += done.sum(axis=1)
            invalid_n += np.stack([r[1]["invalid"] for r in results]).sum(axis=1)
            self._episode_return *= 1.0 - done
        metrics = {}
        if history and history[0]:
            stacked = {k: jnp.stack([m[k] for m in history], axis=1) for k in history[0]}
            metrics = jax.vmap(chunk_mean)(stacked)
        metrics["train_return"] = jnp.asarray(np.where(finished_n > 0, finished_sum / np.maximum(finished_n, 1), np.nan))
        metrics["train_episodes"] = jnp.asarray(finished_n)
        metrics["env_invalid_steps"] = jnp.asarray(invalid_n)
        return ts, {**metrics, **divergence_metrics(ts)}

    def evaluate(self, ts: TrainState) -> jax.Array:
        env_steps = np.asarray(ts.env_steps).tolist()
        obs = np.stack([env.reset(eval_seed(seed, n)) for env, seed, n in zip(self.eval_envs, self.seeds, env_steps)])
        agent_obs = self._eval_acting.reset(obs)
        ret = np.zeros(obs.shape[:2], np.float32)
        alive = np.ones(obs.shape[:2], np.float32)
        for _ in range(self.spec.episode_length):
            action = np.asarray(self._deterministic(ts.agent, jnp.asarray(agent_obs)))
            results = [env.step(a) for env, a in zip(self.eval_envs, action)]
            obs = np.stack([r[0] for r in results])
            agent_obs = self._eval_acting.step(obs, _episode_starts(results))
            reward = np.stack([r[1]["reward"] for r in results])
            done = np.stack([np.maximum(r[1]["terminated"], r[1]["truncated"]) for r in results])
            ret += alive * reward
            alive *= 1.0 - done
            if not alive.any():
                break
        return jnp.asarray(ret)

    def close(self) -> None:
        for env in self.envs + self.eval_envs:
            env.close()
