"""OFENet's carried state and the features it hands to an agent.

Everything the agent reads goes through ``state_features`` / ``state_action_features``: batch
norm in evaluation mode (running statistics, nothing written) and every OFENet variable behind
``jax.lax.stop_gradient``, so RL losses can never move OFENet (it learns from the auxiliary loss
alone, Ota et al. 2020) while gradients with respect to the *inputs* still flow: the SAC actor
differentiates Q(z_s, z_sa(z_s, pi(z_s))) through phi_sa with respect to the action.

Target OFENet (Ota 2021, App. A.1): its weights *and* its batch-norm running statistics are
Polyak averages of the online ones. Sharing the online statistics would normalize the lagged
target weights' pre-activations with statistics of different weights; averaging them with the
same tau keeps the pair consistent, costs 2 * units numbers per layer, and matches updating
every variable of the target, statistics included, as Keras-style target updates do.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from largerl_jax.features.ofenet import OFENet, phi_s_torso_config, phi_sa_torso_config
from largerl_jax.pruning import gates as gating
from largerl_jax.networks import layer_widths
from largerl_jax.networks import trainable


@struct.dataclass
class OFEState:
    net: trainable.Net  # online OFENet: params, state ({'batch_stats': ...} or {}), Adam state, module
    target_params: Any  # None when cfg.use_target is False
    target_state: Any  # target's batch-norm statistics (see module docstring); None likewise
    step: jax.Array  # int32 OFENet updates so far
    # XiNet gates (pruning): phi_s's layers then phi_sa's, or None for a plain OFENet. Features
    # for the agent always use evaluation mode, each unit scaled by its pi (spec Sec. 3.3).
    gates: Any = None

    @property
    def module(self) -> OFENet:
        """The online network's module (static in ``net``), so pure functions can rebuild
        outputs from the state alone."""
        return self.net.module

    @property
    def params(self):
        return self.net.params

    @property
    def batch_stats(self):
        return self.net.state.get("batch_stats", {})

    @property
    def target_batch_stats(self):
        return None if self.target_state is None else self.target_state.get("batch_stats", {})


def num_layers(module: OFENet) -> tuple[int, int]:
    """(layers of phi_s, layers of phi_sa)."""
    cfg = module.cfg
    return cfg.num_layers, cfg.sa_num_layers or cfg.num_layers


def layer_widths_of(module: OFENet) -> list[int]:
    """Widths of phi_s's layers then phi_sa's: the gates' layout."""
    # the input widths do not change a densenet's layer widths (see networks.layer_widths)
    return layer_widths(phi_s_torso_config(module.cfg), 0) + layer_widths(phi_sa_torso_config(module.cfg), 0)


def split_masks(state_or_module, masks):
    """(masks of phi_s, masks of phi_sa) from one list in the gates' layout (None: no gates)."""
    if masks is None:
        return None, None
    module = state_or_module.module if isinstance(state_or_module, OFEState) else state_or_module
    n_s = num_layers(module)[0]
    return list(masks[:n_s]), list(masks[n_s:])


def init_ofenet(cfg, key: jax.Array, obs_dim: int, act_dim: int, pruning=None) -> OFEState:
    """``pruning``: a pruning_config; when enabled, every layer of phi_s and phi_sa is gated."""
    module = OFENet(cfg, obs_dim)
    # Adam without a clip; its learning rate, cfg.learning_rate, comes with each step
    net = trainable.init_net(module, trainable.Optimizer(), key, jnp.zeros((1, obs_dim)), jnp.zeros((1, act_dim)))
    gates = None
    if pruning is not None and pruning.enabled:
        gates = gating.init_gates(layer_widths_of(module), gate_optimizer(cfg, pruning), pruning.pi0)
    return OFEState(
        net=net,
        target_params=net.params if cfg.use_target else None,
        target_state=net.state if cfg.use_target else None,
        step=jnp.int32(0),
        gates=gates,
    )


def gate_optimizer(cfg, pruning) -> optax.GradientTransformation:
    return gating.optimizer(cfg.learning_rate, pruning.pi_lr)


def eval_masks(state: OFEState):
    return None if state.gates is None else gating.eval_masks(state.gates)


def _frozen_variables(state: OFEState, target: bool) -> tuple[Any, dict]:
    # Without a target network the online one stands in, so agent code can always ask for
    # target features in its bootstrap and work with either setting.
    if target and state.target_params is not None:
        params, collections = state.target_params, state.target_state
    else:
        params, collections = state.net.params, state.net.state
    return jax.lax.stop_gradient(params), jax.lax.stop_gradient(collections)


def _apply_eval(state: OFEState, target: bool, *inputs, method, **kwargs):
    params, collections = _frozen_variables(state, target)
    out, _ = trainable.apply(state.module, params, collections, *inputs, train=False, method=method, **kwargs)
    return out


def state_features(state: OFEState, obs: jax.Array, target: bool = False) -> jax.Array:
    """z_s [..., z_s_dim] for the policy and the Q network."""
    masks_s, _ = split_masks(state, eval_masks(state))
    return _apply_eval(state, target, obs, method=OFENet.state_features, masks_s=masks_s)


def state_action_features(state: OFEState, z_s: jax.Array, action: jax.Array, target: bool = False) -> jax.Array:
    """z_sa [..., z_sa_dim] for the Q network; differentiable in ``action`` (and ``z_s``)."""
    _, masks_sa = split_masks(state, eval_masks(state))
    return _apply_eval(state, target, z_s, action, method=OFENet.state_action_features, masks_sa=masks_sa)


def features(state: OFEState, obs: jax.Array, action: jax.Array, target: bool = False):
    """(z_s, z_sa) from one network (online, or target with ``target=True``)."""
    z_s = state_features(state, obs, target)
    return z_s, state_action_features(state, z_s, action, target)


def predict_next(state: OFEState, obs: jax.Array, action: jax.Array, target: bool = False) -> jax.Array:
    """Evaluation-mode prediction of next_obs[..., :predict_dims], for held-out losses."""
    masks_s, masks_sa = split_masks(state, eval_masks(state))
    _, _, pred = _apply_eval(state, target, obs, action, method=OFENet.__call__, masks_s=masks_s, masks_sa=masks_sa)
    return pred
