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

and otherwise after n transitions. The result for row r is

    G = sum_{k < m} gamma^k reward[r + k],   discount = gamma^m (1 - terminated[r + m - 1])

with m in [1, n] the transitions taken, so the TD target is ``G + discount * V(next_obs)``
(``td.nstep_target``). n = 1 gives the one-step transition exactly (G = reward, discount
gamma (1 - terminated)).

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
    last: jax.Array  # [B] int32: the row of the last transition taken
    ret: jax.Array  # [B] float32: sum_{k < m} gamma^k reward[r + k]
    steps: jax.Array  # [B] int32: m
    discount: jax.Array  # [B] float32: gamma^m (1 - terminated[last])


def nstep_rows(rows: ReplayBuffer, idx: jax.Array, n: int, gamma: float) -> NStepRows:
    """The n-step plan of transition rows ``idx`` (valid rows, any shape); ``n`` static >= 1."""
    if n < 1:
        raise ValueError(f"n-step returns need n >= 1, got {n}")
    row = idx
    ret = jnp.zeros(idx.shape, jnp.float32)
    steps = jnp.zeros(idx.shape, jnp.int32)
    last = idx
    active = jnp.ones(idx.shape, bool)
    for k in range(n):  # n is small and static: an unrolled chain of gathers
        ret = ret + jnp.where(active, (gamma ** k) * rows.reward[row], 0.0)
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
    terminated = rows.terminated[last] > 0
    discount = jnp.where(terminated, 0.0, jnp.float32(gamma) ** steps.astype(jnp.float32))
    return NStepRows(last=last, ret=ret, steps=steps, discount=discount)


def nstep_transition(first: Transition, last: Transition, plan: NStepRows) -> Transition:
    """The n-step transition from the first row's transition and the last row's: the first's
    observation and action, the n-step return as the reward, the last's next observation and
    flags. Its ``terminated`` says only that the last transition terminated; the target reads
    the plan's ``discount`` (``td.nstep_target``)."""
    return Transition(obs=first.obs, action=first.action, reward=plan.ret, next_obs=last.next_obs,
                      terminated=last.terminated, truncated=last.truncated)
