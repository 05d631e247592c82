"""OFENet's learning step: the auxiliary next-state loss (Ota et al. 2020, Eq. 1), one Adam step,
and the Polyak update of the target OFENet (Ota et al. 2021, App. A.1)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from largerl_jax.networks import trainable
from largerl_jax.features.config import validate_ofenet_config
from largerl_jax.features.state import OFEState, make_optimizer

# Fields that fix the variables' shapes or the state's layout; the rest may differ between the
# config a state was built with and the one updating it.
_STRUCTURE_FIELDS = (
    "num_layers", "units", "sa_num_layers", "sa_units", "activation", "batch_norm", "predict_dims", "use_target",
)


def aux_loss(module, params, net_state: dict, batch) -> tuple[jax.Array, dict]:
    """(loss, new net_state). Batch norm in training mode, as for any supervised update.

    ``batch`` needs obs, action and next_obs. The loss is the squared error averaged over the
    batch and the predicted dims, so its scale does not depend on predict_dims."""
    (_, _, pred), new_state = trainable.apply(module, params, net_state, batch.obs, batch.action, train=True)
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
    net = trainable.apply_gradients(state.net, make_optimizer(cfg), grads, new_net_state)
    target_params, target_state = state.target_params, state.target_state
    if target_params is not None:
        target_params = trainable.polyak(target_params, net.params, cfg.tau)
        target_state = trainable.polyak(target_state, net.state, cfg.tau)
    new_state = state.replace(net=net, target_params=target_params, target_state=target_state, step=state.step + 1)
    return new_state, {"ofe_loss": loss, "ofe_grad_norm": optax.tree.norm(grads)}
