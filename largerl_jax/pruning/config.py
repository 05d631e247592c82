"""Configuration of XiNet pruning (pruning paper; spec ``shared/design/xinet.md``), shared by the
OFENet features and the agents' networks, hence kept at the bottom layer.

Fields and defaults of ``pruning_config()`` (tags as in the spec: [R] recovered, [D] derived,
[C] our choice where the paper's value was lost):

* ``enabled`` (False): gates on every hidden unit of OFENet and of the agent's networks.
* ``pi0`` (1.0): initial gate probability, [C] the full deterministic network.
* ``warmup_updates`` (50_000): RL updates after the random-action phase during which every pi
  stays fixed ([C] 5e4 env steps at one update per env step).
* ``round_fraction`` (0.8): every pi is rounded to 0/1 and frozen once this fraction of the
  run's env steps is done ([R] fixed in the last 20%; [C] rounded at 80%).
* ``round_update`` (None): the RL update (0-based) at which the gates are rounded; None lets
  the trainer derive it from ``round_fraction`` and the run's length: the last update taken by
  that env step, so the shrink and the evaluation there see rounded pi (set it to override).
* ``eps`` (1e-3): a unit whose pi falls below it is pruned for good ([C]).
* ``ofe_lambda`` (1e-7) / ``rl_lambda`` (1e-6): the scales lambda_phi and lambda_M of the
  complexity-aware thresholds (spec 6.2, [C] Prune-B's starting point; Table 2 was lost).
* ``gamma`` (0.1): weight of the training-only cost against the deploy cost (spec eq. 27;
  0: only what deployment needs counts, 1: the full training cost).
* ``attribution`` ('producer'): thresholds by "producer pays" (spec eqs. 28-29, 32) or
  'gradient', the exact derivative of the expected cost (spec alternative A).
* ``discount_train_nets`` (False): also scale V, Q1, Q2's lambda by gamma (spec 4.6 variant).
* ``weight_decay`` (1e-6) / ``ofe_weight_decay`` (1e-6): (lambda_w / 2) ||W||^2 on dense kernels
  added to each loss ([C] spec 6.2; L2 in the loss, not decoupled).
* ``pi_lr`` (None): Adam step size of the pi updates; None uses each network's weight
  learning rate (spec 1.8's reading).
* ``shrinks`` (4): how many times during training the pruned units are physically removed
  (equally spaced over the RL phase, the last right after rounding); the run's end always
  shrinks once more. 0: only at the end.
"""
from __future__ import annotations

import ml_collections

from largerl_jax.configdict import is_int, locked_config
from largerl_jax.pruning.complexity import ATTRIBUTIONS

_DEFAULTS = dict(
    enabled=False,
    pi0=1.0,
    warmup_updates=50_000,
    round_fraction=0.8,
    round_update=None,
    eps=1e-3,
    ofe_lambda=1e-7,
    rl_lambda=1e-6,
    gamma=0.1,
    attribution="producer",
    discount_train_nets=False,
    weight_decay=1e-6,
    ofe_weight_decay=1e-6,
    pi_lr=None,
    shrinks=4,
)


def pruning_config(**overrides) -> ml_collections.ConfigDict:
    return locked_config("pruning", _DEFAULTS, overrides, validate_pruning_config)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_pruning_config(cfg) -> None:
    missing = sorted(set(_DEFAULTS) - set(cfg.keys()))
    if missing:
        raise ValueError(f"pruning config lacks fields {missing}; build it with pruning_config()")
    for name in ("enabled", "discount_train_nets"):
        if not isinstance(cfg[name], bool):
            raise ValueError(f"pruning {name} must be True or False, got {cfg[name]!r}")
    if not _number(cfg.pi0) or not 0 < cfg.pi0 <= 1:
        raise ValueError(f"pruning pi0 must be in (0, 1], got {cfg.pi0!r}")
    if not _number(cfg.round_fraction) or not 0 < cfg.round_fraction <= 1:
        raise ValueError(f"pruning round_fraction must be in (0, 1], got {cfg.round_fraction!r}")
    if not _number(cfg.eps) or not 0 <= cfg.eps < 0.5:
        raise ValueError(f"pruning eps must be in [0, 0.5), got {cfg.eps!r}")
    if not _number(cfg.gamma) or not 0 <= cfg.gamma <= 1:
        raise ValueError(f"pruning gamma must be in [0, 1], got {cfg.gamma!r}")
    for name in ("ofe_lambda", "rl_lambda", "weight_decay", "ofe_weight_decay"):
        if not _number(cfg[name]) or cfg[name] < 0:
            raise ValueError(f"pruning {name} must be a non-negative number, got {cfg[name]!r}")
    if cfg.pi_lr is not None and (not _number(cfg.pi_lr) or cfg.pi_lr <= 0):
        raise ValueError(f"pruning pi_lr must be a positive number or None, got {cfg.pi_lr!r}")
    if cfg.round_update is not None and (not is_int(cfg.round_update) or cfg.round_update < 0):
        raise ValueError(f"pruning round_update must be a non-negative int or None, got {cfg.round_update!r}")
    for name in ("warmup_updates", "shrinks"):
        if not is_int(cfg[name]) or cfg[name] < 0:
            raise ValueError(f"pruning {name} must be a non-negative int, got {cfg[name]!r}")
    if cfg.attribution not in ATTRIBUTIONS:
        raise ValueError(f"pruning attribution must be one of {list(ATTRIBUTIONS)}, got {cfg.attribution!r}")


def is_pruned(agent_cfg) -> bool:
    """Whether an agent config (or any config with an optional ``pruning`` field) prunes."""
    pruning = agent_cfg.get("pruning")
    return pruning is not None and bool(pruning.enabled)
