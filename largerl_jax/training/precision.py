"""Matrix-multiply precision of a run (config field ``matmul_precision``).

- 'default': the backend's default. On NVIDIA GPUs from Ampere on, JAX multiplies float32
  matrices with TF32 inputs by default; on CPU it always computes in float32.
- 'highest': full float32 on every backend (slowest on GPUs, the reference for numerics).
- 'tf32': TF32 inputs (10-bit mantissa), float32 accumulation (GPUs; float32 elsewhere).
- 'bf16': bfloat16 inputs, float32 accumulation and outputs. Parameters, optimizer states and
  every non-matmul operation stay float32, so only the dots lose precision (the cheapest
  mixed-precision setting; Hopper runs it at about twice the TF32 rate). CPUs compute such
  dots in float32.

It applies to every jitted program of a run (training chunks, evaluation, acting) through
``jax.default_matmul_precision``; a jitted program compiled under one setting is never reused
under another, because the setting is part of JAX's compilation cache key.
"""
from __future__ import annotations

import contextlib

import jax

MATMUL_PRECISIONS = {
    "default": None,
    "highest": "float32",
    "tf32": "tensorfloat32",
    "bf16": "BF16_BF16_F32",  # dot algorithm preset: bf16 x bf16 -> f32 accumulate
}


def validate_matmul_precision(name: str) -> None:
    if name not in MATMUL_PRECISIONS:
        raise ValueError(f"matmul_precision={name!r} not one of {list(MATMUL_PRECISIONS)}")


def matmul_precision(name: str):
    """Context manager under which jitted programs trace with the named precision."""
    validate_matmul_precision(name)
    value = MATMUL_PRECISIONS[name]
    return contextlib.nullcontext() if value is None else jax.default_matmul_precision(value)
