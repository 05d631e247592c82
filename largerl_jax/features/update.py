"""OFENet's learning step: the auxiliary next-state loss (Ota et al. 2020, Eq. 1), one Adam step,
and the Polyak update of the target OFENet (Ota et al. 2021, App. A.1). With XiNet gates
(OFEXiNet, pruning paper eqs. 12-14) the loss also carries weight decay and the complexity-aware
gate regulariser, and the gates take their own projected step."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from largerl_jax.features.config import check_predict_dims, validate_ofenet_config
from largerl_jax.features.state import OFEState, gate_optimizer, num_layers, split_masks
from largerl_jax.pruning import complexity
from largerl_jax.pruning import gates as gating
from largerl_jax.networks import trainable

# Fields that fix the variables' shapes or the state's layout; the rest may differ between the
# config a state was built with and the one updating it.
_STRUCTURE_FIELDS = (
    "num_layers", "units", "sa_num_layers", "sa_units", "activation", "batch_norm", "predict_dims", "use_target",
    "passthrough", "widths", "sa_widths",
)


def aux_loss(module, params, net_state: dict, batch, masks=None) -> tuple[jax.Array, dict]:
    """(loss, new net_state). Batch norm in training mode, as for any supervised update.

    ``batch`` needs obs, action and next_obs. The loss is the squared error averaged over the
    batch and the predicted dims, so its scale does not depend on predict_dims. ``masks``: gate
    masks in the gates' layout (phi_s's layers, then phi_sa's), or None."""
    masks_s, masks_sa = split_masks(module, masks)
    (_, _, pred), new_state = trainable.apply(
        module, params, net_state, batch.obs, batch.action, train=True, masks_s=masks_s, masks_sa=masks_sa
    )
    target = batch.next_obs[..., : pred.shape[-1]]
    return jnp.mean(jnp.square(pred - target)), new_state


def _check_structure(cfg, state: OFEState) -> None:
    validate_ofenet_config(cfg)
    built = state.module.cfg
    changed = [f for f in _STRUCTURE_FIELDS if cfg[f] != built[f]]
    if changed:
        raise ValueError(f"ofenet config fields {changed} differ from those the state was built with")


def ofenet_update(cfg, state: OFEState, batch) -> tuple[OFEState, dict]:
    """One OFENet update; ``cfg`` supplies learning_rate and tau."""
    _check_structure(cfg, state)

    def loss_fn(params):
        return aux_loss(state.module, params, state.net.state, batch)

    (loss, new_net_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.net.params)
    net = state.net.apply_gradients(grads, cfg.learning_rate, new_net_state)
    target_params, target_state = state.target_params, state.target_state
    if target_params is not None:
        target_params = trainable.polyak(target_params, net.params, cfg.tau)
        target_state = trainable.polyak(target_state, net.state, cfg.tau)
    new_state = state.replace(net=net, target_params=target_params, target_state=target_state, step=state.step + 1)
    return new_state, {"ofe_loss": loss, "ofe_grad_norm": optax.tree.norm(grads)}


def gate_regulariser(state: OFEState, pi, pruning, first_widths, act_dim: int) -> jax.Array:
    """lambda_phi * (c_s . S + c_sa . T) (spec eq. 13 with the thresholds of eqs. 28-29).

    ``first_widths``: the expected first-layer widths of the RL networks {'pi', 'V', 'Q1', 'Q2'},
    constants here."""
    n_s, _ = num_layers(state.module)
    widths = gating.expected_widths(state.gates.replace(pi=pi))
    S, T = jnp.stack(widths[:n_s]), jnp.stack(widths[n_s:])
    d_s = state.module.obs_dim
    d_o = check_predict_dims(state.module.cfg, d_s)
    c_s, c_sa = complexity.ofe_thresholds(
        S, T, jax.lax.stop_gradient(first_widths), d_s, act_dim, d_o, pruning.gamma, pruning.attribution
    )
    return pruning.ofe_lambda * (c_s @ S + c_sa @ T)


def ofexinet_update(cfg, pruning, state: OFEState, batch, key, first_widths, active, round_now) -> tuple[OFEState, dict]:
    """One OFEXiNet update (spec Algorithm 1, Part 2): weights by Adam on the sampled
    subnetwork's loss plus weight decay; pi by a projected Adam step on the straight-through
    gradient plus the thresholds, only while ``active`` (after the gate warm-up, before the
    rounding); then pruning below eps, and rounding when ``round_now``."""
    _check_structure(cfg, state)
    act_dim = batch.action.shape[-1]

    def loss_fn(params, pi):
        masks = gating.train_masks(pi, state.gates.alive, key)
        loss, new_state = aux_loss(state.module, params, state.net.state, batch, masks)
        reg = gate_regulariser(state, pi, pruning, first_widths, act_dim)
        total = loss + pruning.ofe_weight_decay * trainable.kernel_decay(params) + reg
        return total, (loss, reg, new_state)

    (_, (loss, reg, new_net_state)), (grads, pi_grads) = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)(
        state.net.params, state.gates.pi
    )
    net = state.net.apply_gradients(grads, cfg.learning_rate, new_net_state)
    gates = gating.step(state.gates, pi_grads, gate_optimizer(cfg, pruning), active)
    gates = gating.round_gates(gating.prune(gates, pruning.eps), round_now)
    target_params, target_state = state.target_params, state.target_state
    if target_params is not None:
        target_params = trainable.polyak(target_params, net.params, cfg.tau)
        target_state = trainable.polyak(target_state, net.state, cfg.tau)
    new_state = state.replace(
        net=net, target_params=target_params, target_state=target_state, step=state.step + 1, gates=gates
    )
    metrics = {"ofe_loss": loss, "ofe_gate_reg": reg, "ofe_grad_norm": optax.tree.norm(grads)}
    n_s, _ = num_layers(state.module)
    for name, part in (("phi_s", slice(0, n_s)), ("phi_sa", slice(n_s, None))):
        metrics.update(gating.gate_metrics(name, gates.replace(pi=gates.pi[part], alive=gates.alive[part])))
    return new_state, metrics
