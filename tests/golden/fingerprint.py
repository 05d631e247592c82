"""What the float results of a run depend on besides the code: jaxlib (XLA), the instruction-set
extensions XLA:CPU compiles for, the processor model and its cache sizes (measured: the reference
commit's OFENet cases differ in the 4th significant digit between an AMD EPYC and an Intel Xeon
with the same extensions, while the plain SAC cases agree bit for bit; Eigen sizes its matrix
product blocks, and so the order of its sums, by the caches), XLA_FLAGS (an optimisation level or a maximum ISA changes the
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
# What every case computes with: XLA and the host-side NumPy, the Flax modules and the optimizers.
CORE = ("jax", "jaxlib", "numpy", "flax", "optax")


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


def _cpu_model() -> dict:
    """The processor's model name and per-core cache sizes (level/type: size)."""
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        pass
    caches = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    for index in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, index, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(base, index, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(base, index, "size")) as f:
                caches[f"L{level} {kind}"] = f.read().strip()
        except OSError:
            continue
    return {"model": model, "caches": caches}


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
    """The whole fingerprint, as a record set stores it. ``render``: include the rendered-frame
    hash (what only pixel cases depend on; drawing it costs an env)."""
    import jax

    out = {"machine": platform.machine(), "isa": _cpu_flags(), "cpu": _cpu_model(), "backend": jax.default_backend(),
           "xla_flags": os.environ.get("XLA_FLAGS", "").strip(), "packages": {p: _version(p) for p in PACKAGES}}
    if render:
        out["render"] = _render_hash()
    return out


def relevant(print_: dict, packages: tuple[str, ...], render: bool) -> dict:
    """The part of a fingerprint a case depends on: the machine, XLA's flags, ``packages``
    (CORE plus the case's simulator) and, for a case that renders, the frame hash. A Pendulum
    case (our own JAX env) does not change when MuJoCo or DM Control do."""
    out = {k: v for k, v in print_.items() if k not in ("packages", "render")}
    out["packages"] = {p: print_.get("packages", {}).get(p) for p in sorted(set(CORE) | set(packages))}
    if render:
        out["render"] = print_.get("render")
    return out
