"""The method registry: each agent family and each feature kind declares itself in its own module,
and the training core, the CLI and the tools read these declarations instead of naming methods.

An ``AgentFamily`` says what the run code needs to know about an agent without knowing it: its
default config, its maker, which torso configs it has (validated, sized and listed by name), its
learning rates (checked positive), the scalar keys a grid may carry in the train state (read by
the agent only in traced arithmetic), whether it reads frame stacks (and so needs a pixel env
and the frame replay) and whether it has XiNet gates. A ``FeatureKind`` says the same of what
the networks read (raw observations, OFENet features): how it wraps a family's maker, what it
validates, what it may carry and how many pre-training updates it runs after warm-up.
"""
from __future__ import annotations

import dataclasses
from typing import Callable


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
    prunable: bool = False  # has XiNet gates (agent.pruning)
    features: tuple[str, ...] = ("raw", "ofenet")  # feature kinds it can read
    validate: Callable | None = None  # (agent cfg) -> list of problems, beyond the above


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


_AGENTS: dict[str, AgentFamily] = {}
_FEATURES: dict[str, FeatureKind] = {}


def register_agent(family: AgentFamily) -> AgentFamily:
    if _AGENTS.get(family.name, family) != family:
        raise ValueError(f"agent family {family.name!r} is registered twice")
    _AGENTS[family.name] = family
    return family


def register_features(kind: FeatureKind) -> FeatureKind:
    if _FEATURES.get(kind.name, kind) != kind:
        raise ValueError(f"feature kind {kind.name!r} is registered twice")
    _FEATURES[kind.name] = kind
    return kind


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


def carried_keys() -> frozenset[str]:
    """Every run-config key (dotted from the root) that some family or feature kind may carry."""
    keys = {f"agent.{k}" for f in _AGENTS.values() for k in f.carried}
    return frozenset(keys | {f"agent.{k}" for f in _FEATURES.values() for k in f.carried})


register_features(FeatureKind("raw", wrap=None))
