"""What float results of a compiled CPU program depend on besides the code: jaxlib (XLA) and
the instruction-set extensions XLA:CPU compiles for."""
from __future__ import annotations

import platform

ISA = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni",
       "avx512_bf16", "amx_tile", "sse4_2", "neon", "asimd", "sve")


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


def fingerprint() -> dict:
    import jax
    import jaxlib

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "machine": platform.machine(),
            "isa": _cpu_flags(), "backend": jax.default_backend()}
