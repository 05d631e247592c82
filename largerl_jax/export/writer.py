"""Writes the acting part of an agent to one .npz that ``numpy_policy`` runs with NumPy alone
(the format is described there).

Only what the deterministic action needs goes in, as each agent declares it (``Agent.export``;
the layers' ops are in networks.export_ops, a torso's in its architecture's module, a head's
beside it): OFENet's phi_s when the agent reads OFENet features (never phi_sa, the predictor or
any target copy), the policy network, and for SAC from pixels the critic's convs, which the
actor reads. The networks become a flat program of ops over named arrays rather than a
description of architectures, so that the loader stays small and a new torso, head or agent (or
a shrunk network with other widths) declares its translation in its own module, not a new
loader. On the way the evaluation-mode forward is fixed into the numbers:

* spectral norm: the eval-mode SNDense computes (x K) / max(sigma, eps) with sigma from the
  carried u (``sigma_from_u``); the same sigma divides the kernel here;
* batch norm: running statistics (the loader never normalizes by batch statistics);
* the Gaussian policy: only the mean's columns of the output layer, as the deterministic action
  is tanh(mean) (the log-std half is never read).

Every maskable hidden layer is followed by an optional 'scale' slot, ``<torso>/gate_<i>``
(i as in the torso's ``masks[i]``), which holds a gate scale vector when one is given and
otherwise means 1.
"""
from __future__ import annotations

import json
import os
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents import Agent
from largerl_jax.envs.base import EnvSpec
from largerl_jax.export.numpy_policy import FORMAT_VERSION, PARAMS_PREFIX, NumpyPolicy


class _Program:
    """Ops and the arrays they name, collected while the networks are translated."""

    def __init__(self):
        self.ops: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.gate_slots: dict[str, list[int]] = {}  # torso path -> width of each maskable layer

    def array(self, key: str, value) -> str:
        name = PARAMS_PREFIX + key
        if name in self.arrays:
            raise ValueError(f"two arrays named {name!r}")
        self.arrays[name] = np.array(value, np.float32)
        return name

    def op(self, kind: str, *inputs: str, **attrs) -> str:
        out = f"v{len(self.ops)}"
        self.ops.append({"op": kind, "in": list(inputs), "out": out, **attrs})
        return out

    def slot(self, key: str) -> str:
        """The name an optional array (a gate scale) has when it is in the file."""
        return PARAMS_PREFIX + key


def _translate(agent: Agent, agent_state) -> tuple[_Program, int]:
    """The agent's declared export (``Agent.export``) as one program whose last op is the action."""
    if agent.export is None:
        raise ValueError(f"agent {agent.name!r} declares no export (Agent.export)")
    p = _Program()
    out, act_dim = agent.export(p, agent_state, "obs")
    if not p.ops or out != p.ops[-1]["out"]:
        raise ValueError(f"agent {agent.name!r}'s export must end with the op that makes the action")
    p.ops[-1]["out"] = "action"  # the last op makes the action, so nothing reads its old name
    return p, int(act_dim)


def _add_gates(p: _Program, gates: Mapping[str, Sequence] | None) -> None:
    for torso, scales in (gates or {}).items():
        if torso not in p.gate_slots:
            raise ValueError(f"no torso {torso!r} to gate in this policy; torsos: {sorted(p.gate_slots)}")
        widths = p.gate_slots[torso]
        if len(scales) != len(widths):
            raise ValueError(f"{torso} has {len(widths)} maskable layers, got {len(scales)} gate scales")
        for i, (scale, width) in enumerate(zip(scales, widths)):
            if scale is None:
                continue
            scale = np.asarray(scale, np.float32)
            if scale.shape != (width,):
                raise ValueError(f"gate scale {torso}/gate_{i} must have shape ({width},), got {scale.shape}")
            p.array(f"{torso}/gate_{i}", scale)


def acting_obs_shape(agent: Agent, spec: EnvSpec) -> tuple[int, ...]:
    """One observation as the agent acts on it: [obs_dim], or a stack [H, W, c * k] of k frames."""
    if agent.frame_stack is None:
        return (int(spec.obs_dim),)
    h, w, c = spec.frame_shape
    return (int(h), int(w), int(c) * int(agent.frame_stack))


def gate_scales(agent: Agent, agent_state) -> dict[str, list] | None:
    """The evaluation-mode gate scales (pi * alive) of a pruned agent's acting networks, in the
    layout ``policy_contents`` takes, as the agent declares them (``Agent.export_gates``); None
    for an agent without gates."""
    return (agent.export_gates(agent_state) if agent.export_gates is not None else None) or None


def policy_contents(agent: Agent, agent_state, obs_shape: Sequence[int], config_name: str,
                    gates: Mapping[str, Sequence] | None = None, info: Mapping | None = None) -> dict[str, np.ndarray]:
    """The arrays of a policy file for one seed's ``agent_state``. ``gates``: per torso path
    ('actor/torso', 'ofenet/phi_s', 'actor/policy/torso' for pixels), one scale vector (or None)
    per maskable layer, e.g. the evaluation-mode gate scales pi * alive; by default those of the
    state's own gates when it has any (a pruned agent)."""
    p, act_dim = _translate(agent, agent_state)
    _add_gates(p, gate_scales(agent, agent_state) if gates is None else gates)
    return {
        "format_version": np.array(FORMAT_VERSION, np.int64),
        "config_name": np.array(str(config_name)),
        "agent": np.array(agent.name),
        "obs_shape": np.array([int(d) for d in obs_shape], np.int64),
        "obs_dtype": np.array("float32" if agent.frame_stack is None else "uint8"),
        "act_dim": np.array(act_dim, np.int64),
        "program": np.array(json.dumps(p.ops)),
        "info": np.array(json.dumps(dict(info or {}))),
        **p.arrays,
    }


def write_policy(path: str, contents: Mapping[str, np.ndarray]) -> None:
    """Writes ``path`` whole or not at all (a temporary file renamed over it)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **contents)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def max_action_difference(agent: Agent, agent_state, policy: NumpyPolicy, num_obs: int = 64, seed: int = 0) -> float:
    """Largest |NumPy action - agent.act(deterministic)| over random observations: a check that
    the file reproduces the agent (standard-normal observations, or uniform pixels)."""
    rng = np.random.default_rng(seed)
    shape = (num_obs, *policy.obs_shape)
    if policy.obs_dtype == "uint8":
        obs = rng.integers(0, 256, shape, dtype=np.uint8)
    else:
        obs = rng.standard_normal(shape).astype(np.float32)
    expected = jax.jit(lambda s, o: agent.act(s, o, jax.random.PRNGKey(0), True))(agent_state, jnp.asarray(obs))
    return float(np.max(np.abs(policy(obs) - np.asarray(expected))))
