"""What every benchmark script does at its end: read the peak memory and save the JSON report."""
from __future__ import annotations

import json
import os
import resource


def peak_memory() -> tuple[int, str]:
    """(bytes, what was read): the device allocator's peak on accelerators, else the process's
    peak resident set size."""
    import jax

    device = jax.devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"]), "device_peak_bytes_in_use"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "process_peak_rss_bytes"


def write_report(report: dict, out: str) -> None:
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {out}")
