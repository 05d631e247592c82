"""Networks: configurable torsos (MLP, MLP-ResNet, MLP-DenseNet, D2RL, pre-LN 'modern', each
declared in its own module under ``archs/``; a new one registers an ``Arch``),
spectral normalization, actor/critic heads and parameter accounting.

Variable collections: 'params' (trainable), 'spectral' (power-iteration vectors u),
'batch_stats' (batch-norm running statistics). ``train=True`` updates the latter two and needs
``mutable=['spectral', 'batch_stats']``; ``train=False`` reads them and changes nothing.
"""
from largerl_jax.networks.config import (
    ACTIVATIONS,
    KERNEL_INITS,
    SPECTRAL_NORMS,
    torso_config,
    validate_torso_config,
)
from largerl_jax.networks.arch import Arch, arch_names, get_arch, register_arch
from largerl_jax.networks.layers import kernel_initializer
from largerl_jax.networks.heads import DeterministicPolicy, GaussianPolicy, QNetwork, VNetwork, export_policy
from largerl_jax.networks.param_table import format_param_table, param_table, total_params
from largerl_jax.networks.singular_values import dense_singular_values
from largerl_jax.networks.spectral_norm import SNDense, power_iteration, sigma_from_u
from largerl_jax.networks.tanh_gaussian import (
    tanh_gaussian_log_prob,
    tanh_gaussian_mode,
    tanh_gaussian_sample,
    tanh_log_det_jacobian,
)
from largerl_jax.networks.torso import Torso
from largerl_jax.networks.widths import layer_widths, torso_out_dim

__all__ = [
    "ACTIVATIONS",
    "Arch",
    "KERNEL_INITS",
    "SPECTRAL_NORMS",
    "DeterministicPolicy",
    "GaussianPolicy",
    "export_policy",
    "QNetwork",
    "SNDense",
    "Torso",
    "VNetwork",
    "arch_names",
    "dense_singular_values",
    "format_param_table",
    "get_arch",
    "kernel_initializer",
    "layer_widths",
    "param_table",
    "power_iteration",
    "register_arch",
    "sigma_from_u",
    "tanh_gaussian_log_prob",
    "tanh_gaussian_mode",
    "tanh_gaussian_sample",
    "tanh_log_det_jacobian",
    "torso_config",
    "torso_out_dim",
    "total_params",
    "validate_torso_config",
]
