"""A whole torso as ops of an export program (see ``export_ops``): the piece every exported
network is built from. Apart from ``export_ops`` because the architectures' own modules use
``export_ops`` while they are being registered, before the torso configs this reads exist."""
from __future__ import annotations

from typing import Mapping

from largerl_jax.networks.arch import get_arch
from largerl_jax.networks.widths import layer_widths


def export_torso(p, cfg, v: Mapping, key: str, x: str) -> str:
    """A torso's hidden layers, op for op, as its architecture declares its export; registers the
    torso's maskable layers (and so its gate slots) under ``key``."""
    widths = layer_widths(cfg, 0)
    p.gate_slots[key] = widths
    return get_arch(cfg.arch).export(p, cfg, v, key, x, widths)
