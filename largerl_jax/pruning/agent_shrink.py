"""Physically shrinking a pruned agent: remove the dead units of its gated networks (and of
gated features, through the feature kind's hook) from every array that holds them, for a whole
seed batch at once (spec Sec. 3.6).

What goes, for each pruned unit: its row in the producing Dense (kernel column, bias,
batch-norm entries and running statistics), its column in every Dense that reads it, Adam's
moments of all of these, the target networks, and its gate (pi, alive, the gates' Adam
moments). Seeds (and Q members) prune differently but share one compiled program, so every
layer keeps the largest alive count over them; those with fewer keep some dead units, still
masked off by their gates.

A prunable agent family declares its ``GatedNetworks``; a feature kind with gates of its own
(OFEXiNet) declares a ``shrink`` hook that shrinks itself and hands the inner agent the kept
feature positions, and a ``split_gates`` hook for the parameter counts. The result has the same
pytree leaves as the state of an agent rebuilt with the returned widths; the caller re-attaches
them to that agent's structure (static fields hold the old widths until then).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.pruning.compact import alive_to_keep, apply_plan, compaction_plan
from largerl_jax.pruning.complexity import deploy_train_params


@dataclasses.dataclass(frozen=True)
class GatedNetworks:
    """What a prunable agent family declares about its XiNet-gated networks.

    ``reads``: (network, input) pairs, in gate order; the network is a field of the agent state
    (a ``trainable.Net``) and a torso config key of the agent config, its gates are
    ``state.gates[network]``; the input is 's' (observations, or z_s on features) or 'sa' (with
    the action, or z_sa); an 'sa' network has a leading member axis (a Q ensemble).
    ``targets``: (state field, network) pairs: a ``trainable.Target`` that follows the network.
    ``table4``: (name, network, member) triples naming the networks as
    ``complexity.deploy_train_params`` counts them ('pi', 'V', 'Q1', 'Q2'); member None, or the
    index of the ensemble member."""

    reads: tuple[tuple[str, str], ...]
    targets: tuple[tuple[str, str], ...] = ()
    table4: tuple[tuple[str, str, int | None], ...] = ()


def _take_last(x, keep: np.ndarray):
    """x [..., n] -> [..., k]: per-row indices keep [..., k] along the last axis."""
    return jnp.asarray(np.take_along_axis(np.asarray(x), keep, axis=-1))


def shrink_gates(gates, keeps, new_alive):
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


def gate_keeps(gates, lo: int = 0, hi: int | None = None):
    """(kept indices, alive masks after compaction) of gated layers lo:hi."""
    pairs = [alive_to_keep(a) for a in gates.alive[lo:hi]]
    return [k for k, _ in pairs], [a for _, a in pairs]


def shrink_net(net, plan):
    return net.replace(params=apply_plan(plan, net.params), state=apply_plan(plan, net.state),
                       opt_state=apply_plan(plan, net.opt_state))


def shrink_gated(declared: GatedNetworks, cfg, state, dims: tuple[int, int], in_keeps) -> tuple[object, dict]:
    """The agent state with its gated networks shrunk, and their widths
    {'<network>.widths': ...}. ``dims``: (s, sa) input widths before shrinking; ``in_keeps``:
    kept input features of the networks reading s and sa ([S, k] or None: all)."""
    widths, plans, gates = {}, {}, dict(state.gates)
    for name, reads in declared.reads:
        keeps, alive = gate_keeps(state.gates[name])
        reads_sa = reads == "sa"
        in_keep = in_keeps[1] if reads_sa else in_keeps[0]
        if in_keep is not None and reads_sa:  # one input for all members: repeat it per member
            in_keep = np.broadcast_to(in_keep[..., None, :], keeps[0].shape[:-1] + in_keep.shape[-1:])
        plans[name] = compaction_plan(cfg[name], dims[1] if reads_sa else dims[0], keeps, in_keep)
        widths[f"{name}.widths"] = tuple(int(k.shape[-1]) for k in keeps)
        gates[name] = shrink_gates(state.gates[name], keeps, alive)
    fields = {name: shrink_net(getattr(state, name), plans[name]) for name, _ in declared.reads}
    for target_name, online in declared.targets:
        target = getattr(state, target_name)
        fields[target_name] = target.replace(params=apply_plan(plans[online], target.params),
                                             batch_stats=apply_plan(plans[online], target.batch_stats))
    return state.replace(**fields, gates=gates), widths


def shrink_agent_state(declared: GatedNetworks | None, feature_shrink: Callable | None, cfg, state,
                       obs_dim: int, act_dim: int) -> tuple[object, dict]:
    """(compacted seed-batched agent state, {'<network>.widths': widths}) for an agent built
    from ``cfg`` (an agent config with pruning enabled), its family's ``declared`` gated
    networks and its feature kind's ``feature_shrink`` hook (None: raw observations). The keys
    name fields of ``cfg``."""
    if declared is None:
        raise ValueError(f"agent {cfg.name!r} has no XiNet gates to shrink")

    def inner(agent_state, dims, in_keeps):
        return shrink_gated(declared, cfg, agent_state, dims, in_keeps)

    if feature_shrink is None:
        return inner(state, (obs_dim, obs_dim + act_dim), (None, None))
    return feature_shrink(cfg, state, obs_dim, act_dim, inner)


def pruned_param_counts(declared: GatedNetworks, split_gates: Callable | None, state, obs_dim: int, act_dim: int,
                        predict_dims: int | None = None) -> dict[str, np.ndarray]:
    """Per seed [S]: parameters needed to deploy (features + policy) and to keep learning,
    counting alive units only, in the convention of the pruning paper's Table 4 (see
    ``complexity.deploy_train_params``). ``split_gates``: the feature kind's hook, state ->
    (inner agent state, alive masks of the s layers, of the sa layers); None: no feature gates."""
    inner, ofe_s, ofe_sa = (state, (), ()) if split_gates is None else split_gates(state)
    count = lambda a: np.asarray(a).sum(axis=-1)  # noqa: E731  alive units per layer [S] (or [S, Q])
    hidden = {name: [count(a) for a in inner.gates[name].alive] for name, _ in declared.reads}
    s_counts, sa_counts = [count(a) for a in ofe_s], [count(a) for a in ofe_sa]
    seeds = np.asarray(inner.step).shape[0]
    out = {"params/deploy": np.zeros(seeds), "params/train": np.zeros(seeds), "params/train_with_predictor": np.zeros(seeds)}
    for s in range(seeds):
        per_net = {label: [h[s] if member is None else h[s][member] for h in hidden[name]]
                   for label, name, member in declared.table4}
        counts = deploy_train_params(obs_dim, act_dim, [c[s] for c in s_counts], [c[s] for c in sa_counts],
                                     per_net, predict_dims)
        out["params/deploy"][s], out["params/train"][s] = counts["deploy"], counts["train"]
        out["params/train_with_predictor"][s] = counts["train_with_predictor"]
    return out
