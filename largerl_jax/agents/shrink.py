"""Physically shrinking a pruned agent: remove the dead units of XiNet SAC (and of OFEXiNet)
from every array that holds them, for a whole seed batch at once (spec Sec. 3.6).

What goes, for each pruned unit: its row in the producing Dense (kernel column, bias,
batch-norm entries and running statistics), its column in every Dense that reads it (later
OFENet layers and pass-through diagonals, the predictor, the first layers of the policy and V
for phi_s units and of the Qs for phi_sa units), Adam's moments of all of these, the target
networks, and its gate (pi, alive, the gates' Adam moments). Seeds (and Q members) prune
differently but share one compiled program, so every layer keeps the largest alive count over
them; those with fewer keep some dead units, still masked off by their gates.

The result has the same pytree leaves as the state of an agent rebuilt with the returned
widths; the caller re-attaches them to that agent's structure (static fields such as OFENet's
module hold the old widths until then).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents.ofe import OFEAgentState
from largerl_jax.agents.sac_v1 import GATED, SACV1State
from largerl_jax.features import ofenet_dims, phi_s_torso_config, phi_sa_torso_config
from largerl_jax.features.state import num_layers
from largerl_jax.networks.compact import alive_to_keep, apply_plan, compaction_plan
from largerl_jax.networks.complexity import deploy_train_params


def _take_last(x, keep: np.ndarray):
    """x [..., n] -> [..., k]: per-row indices keep [..., k] along the last axis."""
    return jnp.asarray(np.take_along_axis(np.asarray(x), keep, axis=-1))


def _shrink_gates(gates, keeps, new_alive):
    """Gates cut to ``keeps`` per layer: pi, alive and Adam's moments (tuples shaped like pi)."""

    def cut(path, leaf):
        last, parent = path[-1], path[-2] if len(path) > 1 else None
        if isinstance(last, jax.tree_util.SequenceKey) and getattr(parent, "name", None) in ("mu", "nu"):
            return _take_last(leaf, keeps[last.idx])
        return leaf

    return gates.replace(
        pi=tuple(_take_last(p, k) for p, k in zip(gates.pi, keeps)),
        alive=tuple(jnp.asarray(a) for a in new_alive),
        opt_state=jax.tree_util.tree_map_with_path(cut, gates.opt_state),
    )


def _keeps(gates, lo: int = 0, hi: int | None = None):
    pairs = [alive_to_keep(a) for a in gates.alive[lo:hi]]
    return [k for k, _ in pairs], [a for _, a in pairs]


def _net(net, plan):
    return net.replace(params=apply_plan(plan, net.params), state=apply_plan(plan, net.state),
                       opt_state=apply_plan(plan, net.opt_state))


def _shrink_sac_v1(cfg, state: SACV1State, dims: tuple[int, int], in_keeps) -> tuple[SACV1State, dict]:
    """``dims``: (z_s, z_sa) input widths before shrinking; ``in_keeps``: kept input features of
    the networks reading z_s and z_sa ([S, k] or None: all)."""
    widths, plans, gates = {}, {}, dict(state.gates)
    for name in GATED:
        keeps, alive = _keeps(state.gates[name])
        reads_sa = name == "critic"
        in_keep = in_keeps[1] if reads_sa else in_keeps[0]
        if in_keep is not None and reads_sa:  # one input for all members: repeat it per member
            in_keep = np.broadcast_to(in_keep[..., None, :], keeps[0].shape[:-1] + in_keep.shape[-1:])
        plans[name] = compaction_plan(cfg[name], dims[1] if reads_sa else dims[0], keeps, in_keep)
        widths[f"{name}.widths"] = tuple(int(k.shape[-1]) for k in keeps)
        gates[name] = _shrink_gates(state.gates[name], keeps, alive)
    target = state.target_value
    new = state.replace(
        actor=_net(state.actor, plans["actor"]),
        critic=_net(state.critic, plans["critic"]),
        value=_net(state.value, plans["value"]),
        target_value=target.replace(params=apply_plan(plans["value"], target.params),
                                    batch_stats=apply_plan(plans["value"], target.batch_stats)),
        gates=gates,
    )
    return new, widths


def _shrink_ofe(cfg, ofe, obs_dim: int, act_dim: int):
    n_s, _ = num_layers(ofe.module)
    keeps_s, alive_s = _keeps(ofe.gates, 0, n_s)
    keeps_sa, alive_sa = _keeps(ofe.gates, n_s)
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
        gates=_shrink_gates(ofe.gates, keeps_s + keeps_sa, alive_s + alive_sa),
    )
    widths = {"ofenet.widths": tuple(int(k.shape[-1]) for k in keeps_s),
              "ofenet.sa_widths": tuple(int(k.shape[-1]) for k in keeps_sa)}
    # The agent's networks read z_s = phi_s(s) and z_sa = phi_sa(z_s, a) at these positions.
    return new, widths, (plan_s.out_keep, plan_sa.out_keep)


def shrink_agent_state(cfg, state, obs_dim: int, act_dim: int) -> tuple[object, dict]:
    """(compacted seed-batched agent state, {'<network>.widths': widths}) for an agent built
    from ``cfg`` (an agent config with pruning enabled). The keys name fields of ``cfg``."""
    if isinstance(state, OFEAgentState):
        ofe, widths, in_keeps = _shrink_ofe(cfg.ofenet, state.ofe, obs_dim, act_dim)
        inner, inner_widths = _shrink_sac_v1(cfg, state.agent, ofenet_dims(cfg.ofenet, obs_dim, act_dim), in_keeps)
        return state.replace(ofe=ofe, agent=inner), {**widths, **inner_widths}
    if isinstance(state, SACV1State) and state.gates is not None:
        return _shrink_sac_v1(cfg, state, (obs_dim, obs_dim + act_dim), (None, None))
    raise ValueError(f"only a pruned sac_v1 agent can be shrunk, got a {type(state).__name__}")


def pruned_param_counts(state, obs_dim: int, act_dim: int, predict_dims: int | None = None) -> dict[str, np.ndarray]:
    """Per seed [S]: parameters needed to deploy (phi_s + policy) and to keep learning (phi_s,
    phi_sa, policy, V, Q1, Q2), counting alive units only, in the convention of the pruning
    paper's Table 4 (see networks.complexity.deploy_train_params)."""
    ofe = state.ofe if isinstance(state, OFEAgentState) else None
    inner = state.agent if ofe is not None else state
    count = lambda a: np.asarray(a).sum(axis=-1)  # noqa: E731  alive units per layer [S] (or [S, Q])
    hidden = {name: [count(a) for a in inner.gates[name].alive] for name in GATED}
    n_s = num_layers(ofe.module)[0] if ofe is not None else 0
    ofe_counts = [count(a) for a in ofe.gates.alive] if ofe is not None else []
    seeds = np.asarray(inner.step).shape[0]
    out = {"params/deploy": np.zeros(seeds), "params/train": np.zeros(seeds), "params/train_with_predictor": np.zeros(seeds)}
    for s in range(seeds):
        per_net = {"pi": [h[s] for h in hidden["actor"]], "V": [h[s] for h in hidden["value"]],
                   "Q1": [h[s][0] for h in hidden["critic"]], "Q2": [h[s][-1] for h in hidden["critic"]]}
        counts = deploy_train_params(obs_dim, act_dim, [c[s] for c in ofe_counts[:n_s]], [c[s] for c in ofe_counts[n_s:]],
                                     per_net, predict_dims)
        out["params/deploy"][s], out["params/train"][s] = counts["deploy"], counts["train"]
        out["params/train_with_predictor"][s] = counts["train_with_predictor"]
    return out
