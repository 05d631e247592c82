"""A trained critic's loss landscape on stored transitions (Ota et al. 2021, App. A.3): freeze
the TD targets of the transitions with the agent's own target computation, then evaluate eq. (2)
on a grid of filter-normalised perturbations of the online critic (see landscape.py).

Transitions are processed ``rows_per_chunk`` at a time, and grid points are vmapped in groups
sized from the compiled loss's own memory use, so pixel critics (conv encoder included) and
wide critics fit on one device."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents import Agent
from largerl_jax.agents.interface import CriticProbe
from largerl_jax.analysis.landscape import frozen_td_loss, grid, loss_surface, two_directions

ROWS_PER_CHUNK = 1024
# Device memory the vmapped grid points may take at once (their perturbed weight copies and
# activations); more points at once only saves dispatch overhead.
GRID_MEMORY_BYTES = 1 << 30


@dataclasses.dataclass(frozen=True)
class Landscape:
    alphas: np.ndarray  # [P] coefficients of direction 1
    betas: np.ndarray  # [P] coefficients of direction 2
    losses: np.ndarray  # [P, P]: losses[i, j] at alphas[i] * d1 + betas[j] * d2
    origin_loss: float  # the trained critic's loss on the frozen targets
    transitions: int


def frozen_probe(agent: Agent, agent_state, batch, key: jax.Array, rows_per_chunk: int = ROWS_PER_CHUNK) -> CriticProbe:
    """The agent's CriticProbe on every row of ``batch``: its target is the frozen Qhat of eq.
    (3). One program maps the probe over chunks of ``rows_per_chunk`` rows (the last one padded,
    its padding cut off), chunk i's target drawn with ``jax.random.split(key, chunks)[i]``."""
    if agent.critic_probe is None:
        raise ValueError(f"agent {agent.name!r} has no critic_probe")
    n = batch.reward.shape[0]
    rows = min(rows_per_chunk, n)
    chunks = -(-n // rows)

    def split(x):
        x = jnp.concatenate([x, jnp.zeros((chunks * rows - n,) + x.shape[1:], x.dtype)])
        return x.reshape((chunks, rows) + x.shape[1:])

    @jax.jit
    def probe_all(agent_state, batch, keys):
        def one(chunk_and_key):
            probe = agent.critic_probe(agent_state, *chunk_and_key)
            return probe.inputs, probe.target

        inputs, target = jax.lax.map(one, (jax.tree.map(split, batch), keys))
        join = lambda x: x.reshape((chunks * rows,) + x.shape[2:])[:n]
        # the module, variables and masks; XLA drops this call's own inputs and target as unused
        template = agent.critic_probe(agent_state, jax.tree.map(lambda x: x[:rows], batch), keys[0])
        return template.replace(inputs=tuple(join(x) for x in inputs), target=join(target))

    return probe_all(agent_state, batch, jax.random.split(key, chunks))


def _origin_and_chunk(probe: CriticProbe, rows_per_chunk: int, total: int) -> tuple[float, int]:
    """The loss at the trained weights, and how many grid points to vmap at once within
    GRID_MEMORY_BYTES, from XLA's memory analysis of that one-point program (1 point at a
    time when the backend reports none)."""
    one = jax.jit(lambda pr: frozen_td_loss(pr, rows_per_chunk)(pr.variables["params"])).lower(probe).compile()
    origin = float(one(probe))
    memory = one.memory_analysis()
    if memory is None:
        return origin, 1
    params_bytes = sum(x.nbytes for x in jax.tree.leaves(probe.variables["params"]))
    per_point = int(memory.temp_size_in_bytes) + 3 * params_bytes  # the perturbed copy and the two directions' terms
    return origin, int(max(1, min(total, GRID_MEMORY_BYTES // max(per_point, 1))))


def critic_landscape(agent: Agent, agent_state, batch, key: jax.Array, points: int = 21, span: float = 1.0,
                     rows_per_chunk: int = ROWS_PER_CHUNK) -> Landscape:
    """eq. (2) of the online critic on ``batch`` over [-span, span]^2 in ``points`` x ``points``
    grid points along two filter-normalised directions drawn from ``key``."""
    if batch.reward.shape[0] == 0:
        raise ValueError("no transitions to evaluate the critic on")
    k_probe, k_dirs = jax.random.split(key)
    probe = frozen_probe(agent, agent_state, batch, k_probe, rows_per_chunk)
    params = probe.variables["params"]
    d1, d2 = jax.jit(two_directions)(k_dirs, params)  # one program, not one per parameter
    coeffs = grid(points, span)
    origin, chunk = _origin_and_chunk(probe, rows_per_chunk, points * points)

    # the probe (all transitions) is an argument, not a closure, so jit never bakes it in as a constant
    @jax.jit
    def surface(probe, d1, d2, coeffs):
        return loss_surface(frozen_td_loss(probe, rows_per_chunk), probe.variables["params"], d1, d2, coeffs, coeffs,
                            chunk)

    return Landscape(
        alphas=np.asarray(coeffs), betas=np.asarray(coeffs), losses=np.asarray(surface(probe, d1, d2, coeffs)),
        origin_loss=origin, transitions=int(probe.target.shape[0]),
    )
