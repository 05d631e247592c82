"""The eval-mode forward of the layer helpers as ops of an export program, for the
architectures' ``export`` functions (the program and its format: ``largerl_jax.export``).

A program ``p`` has ``p.array(key, value) -> name`` (a named float32 array),
``p.op(kind, *inputs, **attrs) -> name``, ``p.slot(key) -> name`` (the name of an optional
array that may be absent from the file) and ``p.gate_slots`` ({torso path: width of each
maskable layer}, filled by ``torso_export.export_torso``). Variables ``v`` are one module's collections
({'params': ..., 'batch_stats': ..., 'spectral': ...})."""
from __future__ import annotations

from typing import Mapping

import jax.numpy as jnp
import numpy as np

from largerl_jax.networks.batch_renorm import EPSILON as BRN_EPSILON
from largerl_jax.networks.spectral_norm import SNDense, sigma_from_u

# layers.dense builds every SNDense with the class default (LayerNorms take the torso config's
# ln_epsilon, passed to layer_norm)
SN_EPS = SNDense.eps


def child(variables: Mapping, name: str) -> dict:
    """The variables of submodule ``name``, in every collection that has it."""
    return {col: tree[name] for col, tree in variables.items() if name in tree}


def _sn_divisor(kernel: np.ndarray, u) -> np.float32:
    return np.float32(jnp.maximum(sigma_from_u(jnp.asarray(kernel), jnp.asarray(u), SN_EPS), SN_EPS))


def dense(p, v: Mapping, key: str, x: str, columns: int | None = None) -> str:
    """An SNDense (or nn.Dense); ``columns`` keeps the first output columns only."""
    kernel = np.asarray(v["params"]["kernel"], np.float32)
    bias = np.asarray(v["params"]["bias"], np.float32)
    u = v.get("spectral", {}).get("u")
    if u is not None:
        kernel = kernel / _sn_divisor(kernel, u)  # sigma of the whole kernel, before any slicing
    if columns is not None:
        kernel, bias = kernel[:, :columns], bias[:columns]
    return p.op("dense", x, kernel=p.array(f"{key}/kernel", kernel), bias=p.array(f"{key}/bias", bias))


def bias_free_dense(p, v: Mapping, key: str, x: str) -> str:
    """An nn.Dense without bias (SimbaV2's HyperDense) as a dense op with a zero bias."""
    kernel = np.asarray(v["params"]["kernel"], np.float32)
    return p.op("dense", x, kernel=p.array(f"{key}/kernel", kernel),
                bias=p.array(f"{key}/bias", np.zeros(kernel.shape[1], np.float32)))


def batch_norm(p, v: Mapping, key: str, x: str, eps: float) -> str:
    params, stats = v["params"], v["batch_stats"]
    return p.op(
        "batch_norm", x, mean=p.array(f"{key}/mean", stats["mean"]), var=p.array(f"{key}/var", stats["var"]),
        scale=p.array(f"{key}/scale", params["scale"]), bias=p.array(f"{key}/bias", params["bias"]), eps=float(eps),
    )


def layer_norm(p, v: Mapping, key: str, x: str, eps: float) -> str:
    params = v["params"]
    return p.op("layer_norm", x, scale=p.array(f"{key}/scale", params["scale"]),
                bias=p.array(f"{key}/bias", params["bias"]), eps=float(eps))


def gate(p, key: str, i: int, x: str) -> str:
    """The optional gate scale of maskable layer i of the torso at ``key``."""
    return p.op("scale", x, scale=p.slot(f"{key}/gate_{i}"), optional=True)


def hidden(p, cfg, v: Mapping, key: str, i: int, x: str) -> str:
    """layers.hidden_layer: BRN?(f(BN?/LN?(W x))), then the gate slot of maskable layer i."""
    name = f"hidden_{i}"
    y = dense(p, child(v, name), f"{key}/{name}", x)
    if cfg.batch_norm:
        y = batch_norm(p, child(v, f"{name}_norm"), f"{key}/{name}_norm", y, cfg.bn_epsilon)
    elif cfg.layer_norm:
        y = layer_norm(p, child(v, f"{name}_norm"), f"{key}/{name}_norm", y, cfg.ln_epsilon)
    y = p.op(cfg.activation, y)
    if cfg.batch_renorm:
        y = batch_norm(p, child(v, f"{name}_renorm"), f"{key}/{name}_renorm", y, BRN_EPSILON)
    return gate(p, key, i, y)

