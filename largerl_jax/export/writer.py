"""Writes the acting part of an agent to one .npz that ``numpy_policy`` runs with NumPy alone
(the format is described there).

Only what the deterministic action needs goes in: OFENet's phi_s when the agent reads OFENet
features (never phi_sa, the predictor or any target copy), the policy network, and for SAC from
pixels the critic's convs, which the actor reads. The networks become a flat program of ops
over named arrays rather than a description of architectures, so that the loader stays small
and a new torso (or a shrunk network with other widths) needs a new translation here, not a
new loader. On the way the evaluation-mode forward is fixed into the numbers:

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
from largerl_jax.agents.ofe import OFEAgentState
from largerl_jax.features import OFENet, num_layers, phi_s_torso_config
from largerl_jax.networks import DeterministicPolicy, GaussianPolicy, layer_widths
from largerl_jax.networks.arch import get_arch
from largerl_jax.networks.export_ops import child as _child, dense as _dense, layer_norm as _layer_norm
from largerl_jax.pruning import gates as gating
from largerl_jax.networks.encoder import STRIDES
from largerl_jax.networks.pixel_heads import PixelActor



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


def _torso(p: _Program, cfg, v: Mapping, key: str, x: str) -> str:
    """The hidden layers, op for op, as the torso's architecture declares its export."""
    widths = layer_widths(cfg, 0)
    p.gate_slots[key] = widths
    return get_arch(cfg.arch).export(p, cfg, v, key, x, widths)


def _policy_head(p: _Program, torso_cfg, act_dim: int, gaussian: bool, v: Mapping, key: str, x: str) -> str:
    """heads.GaussianPolicy (its deterministic action, tanh of the mean) or
    heads.DeterministicPolicy (tanh of the output layer)."""
    h = _torso(p, torso_cfg, _child(v, "torso"), f"{key}/torso", x)
    # a Gaussian's mean and log_std are the two halves of 'out' (jnp.split): keep the mean's
    return p.op("tanh", _dense(p, _child(v, "out"), f"{key}/out", h, columns=act_dim if gaussian else None))


def _actor(p: _Program, module, v: Mapping, nets: Mapping, x: str) -> str:
    if isinstance(module, (GaussianPolicy, DeterministicPolicy)):
        return _policy_head(p, module.torso, module.act_dim, isinstance(module, GaussianPolicy), v, "actor", x)
    if isinstance(module, PixelActor):
        return _pixel_actor(p, module, v, nets["critic"][1], x)
    raise ValueError(f"cannot export an actor of type {type(module).__name__}")


def _pixel_actor(p: _Program, module: PixelActor, v: Mapping, critic_variables: Mapping, x: str) -> str:
    """The critic's convs (as agents/sac_pixels.conv_features), then the actor's feature head
    (encoder.FeatureHead) and Gaussian policy."""
    convs = _child(_child(critic_variables, "encoder"), "convs")
    h = p.op("pixels", x)
    for i, stride in enumerate(STRIDES):
        params = convs["params"][f"conv_{i}"]
        key = f"critic/encoder/convs/conv_{i}"
        h = p.op("relu", p.op("conv", h, kernel=p.array(f"{key}/kernel", params["kernel"]),
                              bias=p.array(f"{key}/bias", params["bias"]), stride=int(stride)))
    h = p.op("flatten", h)
    head = _child(v, "head")
    z = _layer_norm(p, _child(head, "norm"), "actor/head/norm", _dense(p, _child(head, "dense"), "actor/head/dense", h),
                    module.torso.ln_epsilon)
    return _policy_head(p, module.torso, module.act_dim, True, _child(v, "policy"), "actor/policy", p.op("tanh", z))


def _translate(agent: Agent, agent_state) -> tuple[_Program, int]:
    nets = agent.networks(agent_state)
    if "actor" not in nets:
        raise ValueError(f"agent {agent.name!r} has no 'actor' network to export")
    p = _Program()
    x = "obs"
    if "ofenet" in nets:  # the policy reads z_s = phi_s(obs), batch norm in eval mode
        ofenet, ofe_vars = nets["ofenet"]
        if not isinstance(ofenet, OFENet):
            raise ValueError(f"cannot export feature network of type {type(ofenet).__name__}")
        x = _torso(p, phi_s_torso_config(ofenet.cfg), _child(ofe_vars, "phi_s"), "ofenet/phi_s", x)
    actor, actor_vars = nets["actor"]
    out = _actor(p, actor, actor_vars, nets, x)
    assert out == p.ops[-1]["out"]
    p.ops[-1]["out"] = "action"  # the last op makes the action, so nothing reads its old name
    return p, int(actor.act_dim)


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


def gate_scales(agent_state) -> dict[str, list] | None:
    """The evaluation-mode gate scales (pi * alive) of a pruned agent's acting networks, in the
    layout ``policy_contents`` takes; None for an agent without gates."""
    ofe = agent_state.ofe if isinstance(agent_state, OFEAgentState) else None
    inner = agent_state.agent if isinstance(agent_state, OFEAgentState) else agent_state
    scales = {}
    inner_gates = getattr(inner, "gates", None)
    if inner_gates is not None:
        scales["actor/torso"] = [np.asarray(m) for m in gating.eval_masks(inner_gates["actor"])]
    if ofe is not None and ofe.gates is not None:
        n_s, _ = num_layers(ofe.module)
        scales["ofenet/phi_s"] = [np.asarray(m) for m in gating.eval_masks(ofe.gates)[:n_s]]
    return scales or None


def policy_contents(agent: Agent, agent_state, obs_shape: Sequence[int], config_name: str,
                    gates: Mapping[str, Sequence] | None = None, info: Mapping | None = None) -> dict[str, np.ndarray]:
    """The arrays of a policy file for one seed's ``agent_state``. ``gates``: per torso path
    ('actor/torso', 'ofenet/phi_s', 'actor/policy/torso' for pixels), one scale vector (or None)
    per maskable layer, e.g. the evaluation-mode gate scales pi * alive; by default those of the
    state's own gates when it has any (a pruned agent)."""
    p, act_dim = _translate(agent, agent_state)
    _add_gates(p, gate_scales(agent_state) if gates is None else gates)
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
