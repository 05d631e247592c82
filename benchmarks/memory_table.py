"""The markdown form of a ``benchmarks.memory`` report."""
from __future__ import annotations

MIB = 2**20

COLUMNS = ("config", "params (actor / critic)", "train compile (s)", "train (ms/update)", "train state (MiB)",
           "train peak (MiB)", "act (ms/step)", "act weights (MiB)", "act peak (MiB)")

_PEAK_KINDS = {
    "process_peak_rss_bytes": "the process's peak resident set size, which includes the JAX runtime and XLA's "
                              "compilation",
    "device_peak_bytes_in_use": "the device allocator's peak bytes in use",
}


def _count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n:,}"


def _row(r: dict) -> list[str]:
    if "error" in r:
        return [f"`{r['config']}`", "failed: " + r["error"].splitlines()[0], *[""] * (len(COLUMNS) - 2)]
    t, a = r["train"], r["act"]
    params = " / ".join(_count(t["params"][k]) for k in ("actor", "critic") if k in t["params"])
    return [
        f"`{r['config']}`", params, f"{t['compile_s']:.1f}", f"{t['ms_per_update']:.2f}",
        f"{t['state_bytes'] / MIB:,.1f}", f"{t['peak_memory_bytes'] / MIB:,.0f}", f"{a['ms_per_step']:.3f}",
        f"{a['weights_bytes'] / MIB:,.2f}", f"{a['peak_memory_bytes'] / MIB:,.0f}",
    ]


def markdown_report(report: dict) -> str:
    m, base = report["machine"], report["baseline"]
    lines = [
        f"Cost per head: {report['what']}. Training: one update at batch {report['batch_size']}, median over "
        f"{report['repeats']} repeats of {report['updates_per_repeat']} updates; acting: one observation, stochastic "
        f"action, median over {report['repeats']} repeats of {report['act_steps_per_repeat']} steps. Training "
        "and acting are each measured in a fresh process.",
        "",
        f"Machine: {m['cpu_model']} ({m['usable_cpus']} of {m['cpu_count']} CPUs usable), {m['system']}; "
        f"JAX {base['jax_version']}, device {base['device_kind']}; load average {m.get('load_average_1min')} at the "
        f"start. Date: {report['date']}.",
        f"Command: `{report['command']}`",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| --- | --- | " + " | ".join(["---:"] * (len(COLUMNS) - 2)) + " |",
        *("| " + " | ".join(_row(r)) + " |" for r in report["rows"]),
        "",
        f"Peak memory is {_PEAK_KINDS.get(base['peak_memory_kind'], base['peak_memory_kind'])}; an empty JAX "
        f"process peaks at {base['peak_memory_bytes'] / MIB:,.0f} MiB. Train state: parameters, optimizer states "
        "and target networks; act weights: the arrays acting reads.",
        "",
    ]
    return "\n".join(lines)
