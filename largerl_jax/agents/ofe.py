"""Any actor-critic agent on OFENet features (Ota et al. 2020; 2021, Sec. 3.1).

The agent's state is (OFENet state, inner agent state). OFENet learns in ``aux_update`` (the
auxiliary next-state loss, its own Adam), which the trainer runs before every agent update on a
uniform batch (under prioritized replay a separate uniform sample from the same buffer, as the
reference code trains the extractor on its own uniform batch: the prioritized batch is skewed
towards high TD error, which says nothing about the dynamics). ``update`` is the inner agent's
update seen through the updated OFENet: actor and V read z_s, critics read z_sa, bootstrap
targets use the target OFENet's features of s'. OFENet's variables are stop-gradient inside the
view, so RL losses never change them (tested).

With ``cfg.pruning.enabled`` OFENet is the pruning paper's OFEXiNet: gated layers whose gates
learn from the auxiliary loss and the complexity-aware thresholds (which read the agent's
expected first-layer widths), and whose features reach the agent in evaluation mode.
"""
from __future__ import annotations

from typing import Any

import jax
from flax import struct

from largerl_jax.agents import common, gated
from largerl_jax.agents.family import FeatureKind, register_features
from largerl_jax.features import (
    check_predict_dims,
    init_ofenet,
    num_layers,
    ofenet_dims,
    ofenet_update,
    ofexinet_update,
    state_action_features,
    state_features,
    validate_ofenet_config,
)
from largerl_jax.networks import gates as gating


@struct.dataclass
class OFEAgentState:
    ofe: Any
    agent: Any


class OFEView:
    """Feature view over an OFENet state (see agents.feature_view for the contract)."""

    def __init__(self, ofe, act_dim: int):
        self.ofe = ofe
        self.act_dim = act_dim

    def state(self, obs, target: bool = False):
        return state_features(self.ofe, obs, target=target)

    def state_action(self, z_s, action, target: bool = False):
        return state_action_features(self.ofe, z_s, action, target=target)

    def expected_dims(self):
        """Expected widths (d_s + S, d_s + S + d_a + T) of z_s and z_sa under the gates (spec
        eqs. 25-26); None without gates (the static widths hold)."""
        gates = self.ofe.gates
        if gates is None:
            return None
        n_s, _ = num_layers(self.ofe.module)
        widths = gating.expected_widths(gates)
        z_s = self.ofe.module.obs_dim + sum(widths[:n_s])
        return z_s, z_s + self.act_dim + sum(widths[n_s:])


def with_ofenet(make_inner, cfg, obs_dim: int, act_dim: int) -> common.Agent:
    ofe_cfg = cfg.ofenet
    if ofe_cfg.batch_size != cfg.batch_size:
        raise ValueError(
            f"agent.ofenet.batch_size={ofe_cfg.batch_size} must equal agent.batch_size={cfg.batch_size}: "
            "OFENet takes one update on each agent batch"
        )
    z_s_dim, z_sa_dim = ofenet_dims(ofe_cfg, obs_dim, act_dim)
    inner = make_inner(cfg, z_s_dim, act_dim, sa_dim=z_sa_dim)
    pruning = cfg.get("pruning")
    pruned = pruning is not None and pruning.enabled

    def init(key):
        k_ofe, k_agent = jax.random.split(key)
        ofe = init_ofenet(ofe_cfg, k_ofe, obs_dim, act_dim, pruning if pruned else None)
        return OFEAgentState(ofe=ofe, agent=inner.init(k_agent))

    def act(state, obs, key, deterministic: bool):
        return inner.act(state.agent, obs, key, deterministic, OFEView(state.ofe, act_dim))

    def aux_update(state, batch, key):
        if not pruned:
            ofe, metrics = ofenet_update(ofe_cfg, state.ofe, batch)
            return state.replace(ofe=ofe), metrics
        # The gates' clock is the RL update count: OFENet's own count includes pre-training,
        # during which the gates stay fixed (spec Algorithm 1, phase 0).
        rl_step = state.ofe.step - ofe_cfg.pretrain_updates
        active, round_now = gated.schedule(rl_step, pruning)
        ofe, metrics = ofexinet_update(
            ofe_cfg, pruning, state.ofe, batch, key, inner.gate_widths(state.agent), active, round_now
        )
        return state.replace(ofe=ofe), metrics

    def update(state, batch, key, weights=None):
        agent, metrics = inner.update(state.agent, batch, key, OFEView(state.ofe, act_dim), weights)
        return state.replace(agent=agent), metrics

    def critic_probe(state, batch, key):
        # the critic's inputs are OFENet's z_sa; the probe treats them as data (OFENet is not probed)
        return inner.critic_probe(state.agent, batch, key, OFEView(state.ofe, act_dim))

    def networks(state):
        nets = inner.networks(state.agent)
        nets["ofenet"] = (state.ofe.module, {"params": state.ofe.net.params, **state.ofe.net.state})
        return nets

    return common.Agent(
        name=f"{inner.name}+ofenet",
        init=init,
        act=act,
        update=update,
        networks=networks,
        pretrain=aux_update,
        aux_update=aux_update,
        optional_metrics=inner.optional_metrics,
        critic_probe=critic_probe,
    )


def _validate(agent_cfg) -> list[str]:
    problems = []
    try:
        validate_ofenet_config(agent_cfg.ofenet)
    except ValueError as e:
        problems.append(f"agent.{e}")
    if agent_cfg.ofenet.batch_size != agent_cfg.batch_size:
        problems.append(
            f"agent.ofenet.batch_size={agent_cfg.ofenet.batch_size} must equal agent.batch_size={agent_cfg.batch_size} "
            "(OFENet takes one update per agent update)"
        )
    return problems


# OFENet's learning rate and target rate enter only its Adam and its Polyak step (traced).
FEATURES = register_features(FeatureKind(
    name="ofenet", wrap=with_ofenet, carried=("ofenet.learning_rate", "ofenet.tau"), validate=_validate,
    pretrain_updates=lambda agent_cfg: agent_cfg.ofenet.pretrain_updates,
    predict_dims=lambda agent_cfg, obs_dim: check_predict_dims(agent_cfg.ofenet, obs_dim),
))
