"""What the float results of a run depend on besides the code: jaxlib (XLA), the instruction-set
extensions XLA:CPU compiles for, XLA_FLAGS (an optimisation level or a maximum ISA changes the
instructions), the simulator and host libraries (MuJoCo's own build, NumPy), and, for pixel runs,
the OpenGL renderer (Mesa's llvmpipe draws with the CPU it runs on): a frame of a fixed scene is
rendered and hashed, which says more than any version string."""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import platform

# The extensions LLVM may use for float32 code. Not the int8/bf16 ones (avx512_vnni, avx512_bf16,
# amx_tile): XLA:CPU's float32 programs never use them, and machines of one cloud type differ in
# them. Measured: capping XLA at AVX2 on an AVX-512 machine changed 2 of 104 logged values of the
# sac case (batch means), so the vector extensions do count.
ISA = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl", "neon", "asimd", "sve")
PACKAGES = ("jax", "jaxlib", "numpy", "flax", "optax", "mujoco", "mujoco-mjx", "brax", "gymnasium", "dm_control")


def _cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    return sorted(have.intersection(ISA))
    except OSError:
        pass
    return []


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _render_hash() -> str:
    """sha256 (first 16 hex digits) of the first 84x84 frame of DM Control's cartpole, drawn by
    the pixel env the pixel case uses, or why it could not be drawn."""
    try:
        from largerl_jax.envs.dmc_pixels import DMCPixelVecEnv

        frame = DMCPixelVecEnv("cartpole_swingup", num_envs=1, seed=0).reset()
        return hashlib.sha256(frame.tobytes()).hexdigest()[:16]
    except Exception as e:  # noqa: BLE001 - any failure to draw is a fact about this machine
        return f"unavailable: {type(e).__name__}"


@functools.cache
def fingerprint(render: bool = True) -> dict:
    """``render``: include the rendered-frame hash (what only pixel cases depend on)."""
    import jax

    out = {"machine": platform.machine(), "isa": _cpu_flags(), "backend": jax.default_backend(),
           "xla_flags": os.environ.get("XLA_FLAGS", "").strip(), "packages": {p: _version(p) for p in PACKAGES}}
    if render:
        out["render"] = _render_hash()
    return out
