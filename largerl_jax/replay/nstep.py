"""n-step returns over the replay's rings (buffer.ReplayBuffer's layout), for any replay kind.

For a sampled transition row r, the n-step transition sums the discounted rewards of the
transitions r, r+1, ... of the same ring and bootstraps from the next observation of the last
one it takes. It stops early, and exactly, at

* an episode end: a terminated transition is the last one and the target does not bootstrap;
  a truncated one is the last one and the target bootstraps from its true final observation
  (the final-observation row after it);
* the ring's write position: the newest transition's next-observation row is not a valid
  transition row, so nothing newer is read (and nothing older than the ring's oldest row can
  follow a row in ring order before it: the rows after the write position are older);

and otherwise after n transitions. The replay gives the rewards
reward[r + k] for k < m, m in [1, n] the transitions taken, and the agent's target makes

    G = sum_{k < m} gamma^k reward[r + k],   discount = gamma^m (1 - terminated[r + m - 1])

and ``G + discount * V(next_obs)`` (``nstep_return``, with the agent's gamma, which a grid may
carry traced: the replay never needs it). n = 1 is the one-step transition exactly.

``nstep_rows`` only reads the rings' rewards and flags; each kind builds the transition from
the first row (observation, action) and the last row (next observation, flags), so frame
stacks and prioritized sampling need nothing of their own.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from largerl_jax.replay.buffer import ReplayBuffer, Transition, next_rows


@struct.dataclass
class NStepRows:
    last: jax.Array  # [...] int32: the row of the last transition taken
    rewards: jax.Array  # [..., n] float32: reward[r + k] for k < m, 0 after
    steps: jax.Array  # [...] int32: m, the transitions taken (1 <= m <= n)


def nstep_rows(rows: ReplayBuffer, idx: jax.Array, n: int) -> NStepRows:
    """The n-step plan of transition rows ``idx`` (valid rows, any shape); ``n`` static >= 1."""
    if n < 1:
        raise ValueError(f"n-step returns need n >= 1, got {n}")
    row = idx
    rewards = []
    steps = jnp.zeros(idx.shape, jnp.int32)
    last = idx
    active = jnp.ones(idx.shape, bool)
    for k in range(n):  # n is small and static: an unrolled chain of gathers
        rewards.append(jnp.where(active, rows.reward[row], 0.0))
        after = next_rows(rows, row)
        # An episode end's next row is its final-observation row and the newest transition's
        # is the write position's tail row: neither is a valid transition row, so this one
        # test stops at both (and at a resumed run's broken episodes, replay.break_episodes).
        stop = ~rows.valid[after] | (k == n - 1)
        newly = active & stop
        last = jnp.where(newly, row, last)
        steps = jnp.where(newly, k + 1, steps)
        active = active & ~stop
        row = jnp.where(active, after, row)
    return NStepRows(last=last, rewards=jnp.stack(rewards, axis=-1), steps=steps)


def nstep_transition(first: Transition, last: Transition, plan: NStepRows) -> Transition:
    """The n-step transition from the first row's transition and the last row's: the first's
    observation, action and reward, the last's next observation and flags, and the plan's
    rewards and steps, from which the agent's target takes its return and discount
    (``nstep_return``, with the agent's own gamma)."""
    return Transition(obs=first.obs, action=first.action, reward=first.reward, next_obs=last.next_obs,
                      terminated=last.terminated, truncated=last.truncated, rewards=plan.rewards, steps=plan.steps)


def nstep_return(rewards: jax.Array, steps: jax.Array, terminated: jax.Array, gamma) -> tuple[jax.Array, jax.Array]:
    """(G, discount): G = sum_k gamma^k rewards[..., k] (zeros past the steps taken), discount =
    gamma^steps (1 - terminated); ``gamma`` may be traced (a grid's carried value)."""
    powers = gamma ** jnp.arange(rewards.shape[-1], dtype=jnp.float32)
    return (rewards * powers).sum(-1), gamma ** steps.astype(jnp.float32) * (1.0 - terminated)
