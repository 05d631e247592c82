"""The library's torso architectures, one module each; importing this package registers them
(in this order) with ``networks.arch``. A new architecture is a new module that registers an
``Arch``: nothing else in the package changes."""
from largerl_jax.networks.archs import mlp, resnet, densenet, d2rl, modern, simba, bronet, simbav2  # noqa: F401  (registers)
