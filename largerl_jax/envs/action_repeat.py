"""Action repeat for any ``JaxVecEnv``: one agent step holds the action for ``repeat`` simulator
steps and earns their summed reward.

An episode that ends inside the repeat stops there: that sub-step's ``next_obs`` and flags are
reported, the env's auto-reset state is kept, and its remaining sub-steps are discarded (a batch
steps in lockstep, so they are computed anyway). The time limit is the inner env's, in simulator
steps, so the agent sees ``ceil(L / repeat)`` steps per full episode; ``EnvState.t`` keeps
counting simulator steps.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from largerl_jax.envs.base import EnvState, StepResult
from largerl_jax.envs.resets import select


class ActionRepeat:
    def __init__(self, env, repeat: int):
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"action repeat must be a positive int, got {repeat!r}")
        self.env = env
        self.repeat = repeat
        self.num_envs = env.num_envs
        self.spec = dataclasses.replace(env.spec, episode_length=math.ceil(env.spec.episode_length / repeat))

    def reset(self, key: jax.Array) -> EnvState:
        return self.env.reset(key)

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        n = state.obs.shape[0]  # folded multi-seed batches are larger than num_envs
        zeros = jnp.zeros((n,), jnp.float32)

        def sub_step(carry, _):
            state, total, ended, last = carry
            stepped, res = self.env.step(state, action)
            live = ~ended
            total = total + jnp.where(live, res.reward, 0.0)
            last = select(live, res, last)
            state = select(live, stepped, state)
            ended = ended | (live & ((res.terminated + res.truncated) > 0))
            return (state, total, ended, last), None

        # a scan, not a Python loop: the (possibly slow-to-compile) env step is traced once
        empty = StepResult(next_obs=jnp.zeros_like(state.obs), reward=zeros, terminated=zeros,
                           truncated=zeros, invalid=zeros)
        init = (state, zeros, jnp.zeros((n,), bool), empty)
        (state, total, _, last), _ = jax.lax.scan(sub_step, init, None, length=self.repeat)
        return state, last.replace(reward=total)
