"""Episodes of a policy in a one-env vector env, pictured step by step."""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.envs import is_host_env
from largerl_jax.render.adapters import View
from largerl_jax.training.frame_stacks import AgentObs


@dataclasses.dataclass
class Episode:
    frames: list[np.ndarray]
    episode_return: float
    steps: int
    ended: bool  # terminated or truncated by the env, rather than cut by max_steps


def run_episodes(env, policy: Callable, view: View, max_steps: int, seeds: list[int],
                 frame_stack: int | None = None) -> list[Episode]:
    """One episode of ``policy(obs [1, obs_dim]) -> action [1, act_dim]`` per reset seed. A frame
    shows each state the policy acted in, and the last state too when the episode was cut by
    ``max_steps`` (an env that ended has already auto-reset it away). ``frame_stack``: a pixel
    agent's k, whose policy acts on the stack of the last k frames [1, H, W, 3k], built as the
    trainer builds it."""
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}")
    if is_host_env(env):
        return [_host_episode(env, policy, view, max_steps, seed, frame_stack) for seed in seeds]

    @jax.jit  # built once for all episodes: a Brax or MJX step takes a minute to compile on CPU
    def step(state):
        action = policy(state.obs)
        new_state, result = env.step(state, action)
        return new_state, action, result.reward[0], jnp.maximum(result.terminated, result.truncated)[0]

    return [_jax_episode(env, step, view, max_steps, seed) for seed in seeds]


def _jax_episode(env, step, view, max_steps, seed) -> Episode:
    state = env.reset(jax.random.PRNGKey(seed))
    frames, total, ended = [], 0.0, False
    for t in range(max_steps):
        new_state, action, reward, done = step(state)
        frames.append(view.frame(state, np.asarray(action)[0]))
        total += float(reward)
        state = new_state
        if bool(done):
            ended = True
            break
    if not ended:
        frames.append(view.frame(state, None))
    return Episode(frames, total, t + 1, ended)


def _host_episode(env, policy, view, max_steps, seed, frame_stack=None) -> Episode:
    stacks = AgentObs(frame_stack)  # the seed axis it expects is added and dropped around it
    obs = stacks.reset(env.reset(seed)[None])[0]
    frames, total, ended = [], 0.0, False
    for t in range(max_steps):
        action = np.asarray(policy(obs))
        frames.append(view.frame(None, action[0]))
        raw, info = env.step(action)
        obs = stacks.step(raw[None], np.zeros((1, 1), bool))[0]
        total += float(info["reward"][0])
        if info["terminated"][0] or info["truncated"][0]:
            ended = True
            break
    if not ended:
        frames.append(view.frame(None, None))
    return Episode(frames, total, t + 1, ended)
