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

from largerl_jax.agents import interface
from largerl_jax.pruning import gated
from largerl_jax.agents.family import FeatureKind, register_features
import numpy as np

from largerl_jax.features import (
    check_predict_dims,
    export_phi_s,
    init_ofenet,
    num_layers,
    ofenet_dims,
    ofenet_update,
    ofexinet_update,
    phi_s_torso_config,
    phi_sa_torso_config,
    state_action_features,
    state_features,
    validate_ofenet_config,
)
from largerl_jax.pruning.agent_shrink import gate_keeps, shrink_gates
from largerl_jax.pruning.compact import apply_plan, compaction_plan
from largerl_jax.pruning.config import is_pruned
from largerl_jax.pruning import gates as gating


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


def with_ofenet(make_inner, cfg, obs_dim: int, act_dim: int) -> interface.Agent:
    ofe_cfg = cfg.ofenet
    if ofe_cfg.batch_size != cfg.batch_size:
        raise ValueError(
            f"agent.ofenet.batch_size={ofe_cfg.batch_size} must equal agent.batch_size={cfg.batch_size}: "
            "OFENet takes one update on each agent batch"
        )
    z_s_dim, z_sa_dim = ofenet_dims(ofe_cfg, obs_dim, act_dim)
    inner = make_inner(cfg, z_s_dim, act_dim, sa_dim=z_sa_dim)
    pruning = cfg.get("pruning")
    pruned = is_pruned(cfg)

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
        nets["ofenet"] = (state.ofe.module, state.ofe.net.variables())
        return nets

    def export(p, state, x):
        # the policy reads z_s = phi_s(obs): OFENet's phi_s goes first, then the inner agent's policy
        return inner.export(p, state.agent, export_phi_s(p, state.ofe.module, state.ofe.net.variables(), x))

    def export_gates(state):
        scales = dict((inner.export_gates(state.agent) if inner.export_gates else None) or {})
        if state.ofe.gates is not None:
            n_s, _ = num_layers(state.ofe.module)
            scales["ofenet/phi_s"] = [np.asarray(m) for m in gating.eval_masks(state.ofe.gates)[:n_s]]
        return scales or None

    return interface.Agent(
        name=f"{inner.name}+ofenet",
        init=init,
        act=act,
        update=update,
        networks=networks,
        pretrain=aux_update,
        aux_update=aux_update,
        optional_metrics=inner.optional_metrics,
        critic_probe=critic_probe,
        export=export if inner.export is not None else None,
        export_gates=export_gates,
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
def _shrink_ofe(cfg, ofe, obs_dim: int, act_dim: int):
    """OFEXiNet without its dead units: phi_s's, phi_sa's (which reads phi_s's kept features and
    the action) and the predictor's rows, with the kept positions of z_s and z_sa."""
    n_s, _ = num_layers(ofe.module)
    keeps_s, alive_s = gate_keeps(ofe.gates, 0, n_s)
    keeps_sa, alive_sa = gate_keeps(ofe.gates, n_s)
    z_s_dim, _ = ofenet_dims(cfg, obs_dim, act_dim)
    plan_s = compaction_plan(phi_s_torso_config(cfg), obs_dim, keeps_s, None, torso_path=("phi_s",), out_path=None)
    action_cols = np.broadcast_to(z_s_dim + np.arange(act_dim, dtype=np.int32), plan_s.out_keep.shape[:-1] + (act_dim,))
    sa_in_keep = np.concatenate([plan_s.out_keep, action_cols], axis=-1)
    plan_sa = compaction_plan(phi_sa_torso_config(cfg), z_s_dim + act_dim, keeps_sa, sa_in_keep,
                              torso_path=("phi_sa",), out_path=("predictor",))

    def both(tree):
        return None if tree is None else apply_plan(plan_sa, apply_plan(plan_s, tree))

    new = ofe.replace(
        net=ofe.net.replace(params=both(ofe.net.params), state=both(ofe.net.state), opt_state=both(ofe.net.opt_state)),
        target_params=both(ofe.target_params),
        target_state=both(ofe.target_state),
        gates=shrink_gates(ofe.gates, keeps_s + keeps_sa, alive_s + alive_sa),
    )
    widths = {"ofenet.widths": tuple(int(k.shape[-1]) for k in keeps_s),
              "ofenet.sa_widths": tuple(int(k.shape[-1]) for k in keeps_sa)}
    # The agent's networks read z_s = phi_s(s) and z_sa = phi_sa(z_s, a) at these positions.
    return new, widths, (plan_s.out_keep, plan_sa.out_keep)


def _shrink(agent_cfg, state: OFEAgentState, obs_dim: int, act_dim: int, shrink_inner):
    """The feature kind's shrink hook (see pruning.agent_shrink)."""
    ofe, widths, in_keeps = _shrink_ofe(agent_cfg.ofenet, state.ofe, obs_dim, act_dim)
    inner, inner_widths = shrink_inner(state.agent, ofenet_dims(agent_cfg.ofenet, obs_dim, act_dim), in_keeps)
    return state.replace(ofe=ofe, agent=inner), {**widths, **inner_widths}


def _split_gates(state: OFEAgentState):
    """(inner agent state, alive masks of phi_s's layers, of phi_sa's) for parameter counts."""
    n_s = num_layers(state.ofe.module)[0]
    return state.agent, state.ofe.gates.alive[:n_s], state.ofe.gates.alive[n_s:]


FEATURES = register_features(FeatureKind(
    name="ofenet", wrap=with_ofenet, carried=("ofenet.learning_rate", "ofenet.tau"), validate=_validate,
    pretrain_updates=lambda agent_cfg: agent_cfg.ofenet.pretrain_updates,
    predict_dims=lambda agent_cfg, obs_dim: check_predict_dims(agent_cfg.ofenet, obs_dim),
    shrink=_shrink, split_gates=_split_gates,
))
