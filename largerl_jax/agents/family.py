"""The method registry: each agent family and each feature kind declares itself in its own module,
and the training core, the CLI and the tools read these declarations instead of naming methods.

An ``AgentFamily`` says what the run code needs to know about an agent without knowing it: its
default config, its maker, which torso configs it has (validated, sized and listed by name), its
learning rates (checked positive), the scalar keys a grid may carry in the train state (read by
the agent only in traced arithmetic), whether it reads frame stacks (and so needs a pixel env
and the frame replay) and which of its networks have XiNet gates (what shrinking them needs). A
``FeatureKind`` says the same of what the networks read (raw observations, OFENet features): how
it wraps a family's maker, what it validates, what it may carry, how many pre-training updates
it runs after warm-up and, with gates of its own, how it shrinks.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from largerl_jax.pruning import agent_shrink
from largerl_jax.pruning.agent_shrink import GatedNetworks
from largerl_jax.pruning.config import is_pruned


@dataclasses.dataclass(frozen=True)
class AgentFamily:
    name: str
    label: str  # how tables name it (e.g. "SAC")
    config: Callable  # () -> the family's default agent ConfigDict (its ``name`` is ``name``)
    make: Callable  # (agent cfg, obs_dim, act_dim, frame_shape) -> Agent
    networks: tuple[str, ...]  # keys of agent cfg that are torso configs
    learning_rates: tuple[str, ...] = ()  # keys of agent cfg that are learning rates
    carried: tuple[str, ...] = ()  # agent cfg keys a grid may carry in the train state
    reads_frames: bool = False  # acts on frame stacks from a pixel env (frame replay)
    gated: GatedNetworks | None = None  # its XiNet-gated networks (agent.pruning); None: not prunable
    features: tuple[str, ...] = ("raw", "ofenet")  # feature kinds it can read
    validate: Callable | None = None  # (agent cfg) -> list of problems, beyond the above
    schedules_lr: bool = False  # reads agent.lr_schedule (agents.lr_schedule); others refuse one

    @property
    def prunable(self) -> bool:
        return self.gated is not None


@dataclasses.dataclass(frozen=True)
class FeatureKind:
    name: str
    wrap: Callable | None  # (maker, agent cfg, obs_dim, act_dim) -> Agent; None: the maker itself
    carried: tuple[str, ...] = ()  # agent cfg keys (dotted) a grid may carry
    validate: Callable | None = None  # (agent cfg) -> list of problems
    pretrain_updates: Callable | None = None  # (agent cfg) -> updates after warm-up; None: 0
    # (agent cfg, obs_dim) -> how many observation dims the features' auxiliary task predicts,
    # which counting a pruned agent's parameters needs; None: no such task
    predict_dims: Callable | None = None
    # Gated features (see pruning.agent_shrink): (agent cfg, state, obs_dim, act_dim, shrink_inner)
    # -> (state, widths), shrinking the features and then the inner agent through shrink_inner;
    # and state -> (inner agent state, alive masks of the s layers, of the sa layers). None: the
    # features have no gates.
    shrink: Callable | None = None
    split_gates: Callable | None = None


_AGENTS: dict[str, AgentFamily] = {}
_FEATURES: dict[str, FeatureKind] = {}


def register_in(table: dict, what: str, declaration):
    """Adds a declaration (anything with a ``name``) to a registry; the same one again is a
    no-op (a module imported twice), a different one of the same name an error."""
    if table.get(declaration.name, declaration) != declaration:
        raise ValueError(f"{what} {declaration.name!r} is registered twice")
    table[declaration.name] = declaration
    return declaration


def register_agent(family: AgentFamily) -> AgentFamily:
    return register_in(_AGENTS, "agent family", family)


def register_features(kind: FeatureKind) -> FeatureKind:
    return register_in(_FEATURES, "feature kind", kind)


def agent_families() -> dict[str, AgentFamily]:
    return dict(sorted(_AGENTS.items()))


def feature_kinds() -> dict[str, FeatureKind]:
    return dict(_FEATURES)


def agent_family(name: str) -> AgentFamily:
    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {sorted(_AGENTS)}")
    return _AGENTS[name]


def feature_kind(name: str) -> FeatureKind:
    if name not in _FEATURES:
        raise ValueError(f"agent.features must be one of {list(_FEATURES)}, got {name!r}")
    return _FEATURES[name]


def pretrain_updates(agent_cfg) -> int:
    """Updates of the agent's pre-training phase (after warm-up, without env steps), as its
    feature kind declares them."""
    kind = _FEATURES.get(agent_cfg.get("features", "raw"))
    return 0 if kind is None or kind.pretrain_updates is None else int(kind.pretrain_updates(agent_cfg))


def _pruned_declarations(agent_cfg):
    if not is_pruned(agent_cfg):
        raise ValueError(f"agent {agent_cfg.name!r} is not pruned (agent.pruning.enabled is off): nothing to shrink")
    family = agent_family(agent_cfg.name)
    if family.gated is None:
        raise ValueError(f"agent {agent_cfg.name!r} has no XiNet gates to shrink")
    return family.gated, feature_kind(agent_cfg.get("features", "raw"))


def shrink_agent_state(agent_cfg, state, obs_dim: int, act_dim: int) -> tuple[object, dict]:
    """A pruned agent's seed-batched state without its dead units, and the networks' new widths
    ({'<network>.widths': ...}, keys of ``agent_cfg``), as its family and feature kind declare
    them (see pruning.agent_shrink)."""
    gated, kind = _pruned_declarations(agent_cfg)
    return agent_shrink.shrink_agent_state(gated, kind.shrink, agent_cfg, state, obs_dim, act_dim)


def pruned_param_counts(agent_cfg, state, obs_dim: int, act_dim: int) -> dict:
    """Per seed: deploy and train parameter counts of a pruned agent's alive units (Table 4's
    convention; see pruning.agent_shrink.pruned_param_counts)."""
    gated, kind = _pruned_declarations(agent_cfg)
    predict = kind.predict_dims(agent_cfg, obs_dim) if kind.predict_dims else None
    return agent_shrink.pruned_param_counts(gated, kind.split_gates, state, obs_dim, act_dim, predict)


def carried_keys() -> frozenset[str]:
    """Every run-config key (dotted from the root) that some family or feature kind may carry."""
    keys = {f"agent.{k}" for f in _AGENTS.values() for k in f.carried}
    return frozenset(keys | {f"agent.{k}" for f in _FEATURES.values() for k in f.carried})


register_features(FeatureKind("raw", wrap=None))
