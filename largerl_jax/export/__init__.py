"""Export of a trained agent's acting part to one .npz file that runs with NumPy alone.

Only the loader is imported here, so ``from largerl_jax.export import load_policy`` never
imports JAX; the writer, which needs JAX and the library, is ``largerl_jax.export.writer``."""
from largerl_jax.export.numpy_policy import FORMAT_VERSION, NumpyPolicy, load_policy

__all__ = ["FORMAT_VERSION", "NumpyPolicy", "load_policy"]
