"""The GPU suite's results: the steps' JSON merged into one report per benchmark, the targets
evaluated, and ``gpu_results.md`` and ``summary.json`` written."""
from __future__ import annotations

import datetime
import json
import os
import platform

from benchmarks.step_runner import Step, command_str

TARGET_CONFIG = "ant_sac"  # the seed-scaling target's config
COLLECT_TARGET_RATE = 1_000_000  # env steps/s at the largest N (4096 on a GPU)


def _load(path: str | None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError, TypeError):
        return None


def merge_results(steps: list[Step], equivalent: dict[str, str]) -> dict[str, dict]:
    """One report per group in the format of its benchmark, rows sorted by size, plus
    ``failures`` (steps that did not produce a row) and the commands that ran."""
    reports: dict[str, dict] = {}
    for step in steps:
        if step.group is None:
            continue
        if step.kind == "brax":
            _merge_brax(reports.setdefault(step.group, {"regimes": {}, "results": [], "failures": [],
                                                         "step_commands": []}), step)
            continue
        size_key = "seeds" if step.kind == "throughput" else "num_envs"
        rep = reports.setdefault(step.group, {"results": [], "failures": [], "step_commands": []})
        rep["step_commands"].append(command_str(step.argv))
        data = _load(step.out) if step.status in ("ok", "failed") else None
        rows = []
        if data is not None:
            for k, v in data.items():
                if k not in ("results", "command"):
                    rep.setdefault(k, v)
            rows = data.get("results", [])
        good = [r for r in rows if "error" not in r]
        rep["results"].extend(good)
        if step.status != "ok" or not good:
            errors = [r["error"] for r in rows if "error" in r]
            rep["failures"].append({size_key: step.size, "step": step.name, "status": step.status if step.status != "ok" else "failed",
                                    "error": "\n".join(errors) or step.error or "no result row"})
    for group, rep in reports.items():
        if "regimes" in rep:
            continue
        key = "seeds" if group.startswith("throughput-") else "num_envs"
        rep["results"].sort(key=lambda r: r.get(key, 0))
        rep["failures"].sort(key=lambda r: r.get(key) or 0)
        rep["command"] = equivalent.get(group)
    return reports


def _merge_brax(rep: dict, step: Step) -> None:
    """A ``benchmarks.peers --only=brax`` step: its regimes' medians and ratio (equal work was
    checked by the benchmark, which records a drift as an error)."""
    rep["step_commands"].append(command_str(step.argv))
    data = _load(step.out) if step.status in ("ok", "failed") else None
    regimes = ((data or {}).get("brax") or {}).get("regimes") or {}
    for name, r in regimes.items():
        if r.get("ours/brax") is not None:
            rep["regimes"][name] = {k: r.get(k) for k in ("iterations", "ours", "brax", "ours/brax", "settings")}
    if step.status != "ok" or not regimes or any(r.get("ours/brax") is None for r in regimes.values()):
        errors = (data or {}).get("errors") or []
        rep["failures"].append({"step": step.name, "status": step.status if step.status != "ok" else "failed",
                                "error": "\n".join(errors) or step.error or "no ratio measured"})


def _brax_lines(rep: dict) -> list[str]:
    lines = ["## ant_sac against Brax's SAC trainer (same MJX Ant work, one seed, env steps/s)", "",
             "- Per regime: `python -m benchmarks.peers --only=brax --brax-regimes=REGIME --brax-seeds=0 "
             "--rounds=1 --repeats=2` (NxU[bB]: N envs, U updates of batch B per iteration)", "",
             "| regime | ours | Brax | ours/Brax |", "| --- | ---: | ---: | ---: |"]
    for name, r in rep["regimes"].items():
        lines.append(f"| {name} | {r['ours']:,.1f} | {r['brax']:,.1f} | {r['ours/brax']:.2f} |")
    for f in rep["failures"]:
        first = (f.get("error") or "").strip().splitlines()[:1]
        lines.append(f"- {f['step']}: **{f['status'].upper()}**: {first[0][:300] if first else ''}")
    return lines + [""]


def _rows(reports: dict, group: str, key: str) -> dict[int, dict]:
    return {r[key]: r for r in reports.get(group, {}).get("results", [])}


def evaluate_targets(reports: dict, seeds: tuple[int, ...], num_envs: tuple[int, ...], collect_env: str,
                     device_kind: str | None, dry_run: bool) -> list[dict]:
    """The targets as dicts with status PASS, FAIL or UNMEASURED and a one-line detail."""
    note = ""
    if dry_run:
        note = " [dry run: toy sizes on a CPU; the thresholds are the GPU's]"
    elif not (device_kind and "H100" in device_kind):
        note = f" [the target is set for an H100; this ran on {device_kind or 'an unknown device'}]"
    out = []

    s_max = max(seeds)
    rows = _rows(reports, f"throughput-{TARGET_CONFIG}", "seeds")
    name = f"{TARGET_CONFIG} seed scaling: S={s_max} in at most 2x the wall time of S=1 (summed env steps/s >= {s_max / 2:g}x)"
    if 1 in rows and s_max in rows and s_max > 1:
        ratio = rows[s_max]["env_steps_per_s"] / rows[1]["env_steps_per_s"]
        wall = rows[s_max]["chunk_s_median"] / rows[1]["chunk_s_median"]
        status = "PASS" if ratio >= s_max / 2 else "FAIL"
        detail = (f"S={s_max}: {rows[s_max]['env_steps_per_s']:,.0f} env steps/s summed = {ratio:.2f}x S=1 "
                  f"({rows[1]['env_steps_per_s']:,.0f}); wall time of the same per-seed work {wall:.2f}x")
    else:
        status = "UNMEASURED"
        missing = [s for s in (1, s_max) if s not in rows]
        detail = f"no result for S={','.join(map(str, missing)) or s_max}"
    out.append({"target": name, "status": status, "detail": detail + note})

    n_max = max(num_envs)
    rows = _rows(reports, f"collect-{collect_env}", "num_envs")
    name = f"{collect_env} collection: >= {COLLECT_TARGET_RATE:,} env steps/s at {n_max} envs"
    if n_max in rows:
        rate = rows[n_max]["env_steps_per_s"]
        status = "PASS" if rate >= COLLECT_TARGET_RATE else "FAIL"
        detail = f"{rate:,.0f} env steps/s at N={n_max}"
    else:
        status, detail = "UNMEASURED", f"no result for N={n_max}"
    out.append({"target": name, "status": status, "detail": detail + note})
    return out


def target_lines(targets: list[dict]) -> list[str]:
    return [f"{t['status']}: {t['target']} -- {t['detail']}" for t in targets]


def _mib(b) -> str:
    return f"{b / 2**20:,.0f} MiB" if isinstance(b, (int, float)) else "-"


def _mem_kind(kind: str | None) -> str:
    return {"device_peak_bytes_in_use": "device peak", "process_peak_rss_bytes": "process peak RSS"}.get(kind, kind or "")


def write_markdown(path: str, summary: dict, reports: dict) -> str:
    probe = summary.get("probe") or {}
    lines = [f"# GPU benchmark suite{' (DRY RUN on CPU, toy sizes)' if summary['dry_run'] else ''}", ""]
    lines += [
        f"- Device: {summary.get('device') or 'unknown'} ({probe.get('platform', '?')}, "
        f"{probe.get('device_count', '?')} device(s)); JAX {summary.get('jax_version') or '?'}",
        "- Packages: " + (", ".join(f"{k} {v}" for k, v in (probe.get("packages") or {}).items()) or "unknown (no probe)"),
        f"- Machine: {summary['machine']}; Python {probe.get('python', platform.python_version())}",
        f"- Date: {summary['date']} (started {summary['started_utc']} UTC); suite wall time {summary['wall_s']:.0f} s",
        f"- Command: `{summary['command']}`",
        "",
        "## Targets",
        "",
        "```",
        *summary["target_lines"],
        "```",
        "",
    ]
    for group, rep in sorted(reports.items(), key=lambda kv: (not kv[0].startswith("throughput"), kv[0])):
        if "regimes" in rep:
            lines += _brax_lines(rep)
            continue
        if group.startswith("throughput-"):
            lines += [
                f"## {group[len('throughput-'):]} training throughput",
                "",
                f"- Equivalent command: `{rep.get('command')}`",
                f"- Workload: {rep.get('num_envs', '?')} envs and {rep.get('updates_per_iteration', '?')} gradient "
                f"steps per iteration, {rep.get('iterations_per_chunk', '?')} iterations per timed chunk, "
                f"replay capacity {rep['results'][0].get('replay_capacity', '?') if rep['results'] else '?'}",
                "",
                "| seeds S | compile (s) | chunk (s) | env steps/s | grad steps/s | env steps/s per seed | peak memory | replay copies (audit) |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            ]
            for r in rep["results"]:
                audit = r.get("replay_copy_audit") or {}
                audit_s = (f"{audit.get('buffer_copies', '?')} copies, temp {_mib(audit.get('temp_bytes'))}, "
                           f"{'ok' if audit.get('no_copy') else 'COPIES'}") if audit else "-"
                lines.append(
                    f"| {r['seeds']} | {r['compile_s']:.1f} | {r['chunk_s_median']:.3f} | {r['env_steps_per_s']:,.0f} | "
                    f"{r['grad_steps_per_s']:,.1f} | {r['env_steps_per_s_per_seed']:,.0f} | "
                    f"{_mib(r['peak_memory_bytes'])} ({_mem_kind(r.get('peak_memory_kind'))}) | {audit_s} |"
                )
        else:
            lines += [
                f"## {rep.get('env', group)} collection (uniform random actions)",
                "",
                f"- Equivalent command: `{rep.get('command')}`",
                f"- {rep.get('steps_per_rollout', '?')} env steps per jitted rollout, median of "
                f"{rep.get('repeats', '?')} after one warm-up",
                "",
                "| envs N | compile (s) | rollout (s) | env steps/s | steps with a reset | peak memory |",
                "| ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for r in rep["results"]:
                lines.append(
                    f"| {r['num_envs']} | {r['compile_s']:.1f} | {r['rollout_s_median']:.4f} | "
                    f"{r['env_steps_per_s']:,.0f} | {100 * r['reset_step_fraction']:.0f}% | "
                    f"{_mib(r['peak_memory_bytes'])} ({_mem_kind(r.get('peak_memory_kind'))}) |"
                )
        if rep["failures"]:
            lines.append("")
        for f in rep["failures"]:
            first = (f.get("error") or "").strip().splitlines()[:1]
            size = f"S={f['seeds']}" if "seeds" in f else f"N={f.get('num_envs')}"
            lines.append(f"- {size}: **{f['status'].upper()}** ({f['step']}): {first[0][:300] if first else ''}")
        lines.append("")
    lines += ["## Steps (in the order run)", "", "| step | status | wall (s) | limit (s) | note |", "| --- | --- | ---: | ---: | --- |"]
    for s in summary["steps"]:
        note = (s.get("error") or "").strip().splitlines()[:1]
        wall = f"{s['wall_s']:.0f}" if s.get("wall_s") is not None else "-"
        lines.append(f"| {s['name']} | {s['status']} | {wall} | {s['limit_s']:.0f} | {note[0][:150] if note else ''} |")
    lines.append("")
    if summary.get("rerun_skipped"):
        lines += [f"Skipped for lack of time; to run them (another call): `{summary['rerun_skipped']}`", ""]
    text = "\n".join(lines)
    with open(path, "w") as f:
        f.write(text)
    return text


def write_reports(out_dir: str, steps: list[Step], equivalent: dict[str, str], command: str, dry_run: bool,
                  started: datetime.datetime, wall_s: float, seeds, num_envs, collect_env: str):
    """Writes one JSON per benchmark, ``summary.json`` and ``gpu_results.md`` into ``out_dir``;
    ``equivalent`` maps a results group to the single command that would measure it all."""
    reports = merge_results(steps, equivalent)
    probe_step = next((s for s in steps if s.kind == "probe"), None)
    probe_info = probe_step.info if probe_step else None
    device = (probe_info or {}).get("device_kind")
    jax_version = (probe_info or {}).get("jax_version")
    for rep in reports.values():  # fall back on what the benchmarks recorded
        for r in rep["results"]:
            device = device or r.get("device_kind") or r.get("device")
            jax_version = jax_version or r.get("jax_version")
    targets = evaluate_targets(reports, tuple(seeds), tuple(num_envs), collect_env, device, dry_run)
    files = []
    for group, rep in reports.items():
        rep.setdefault("date", started.date().isoformat())
        rep["suite_command"] = command
        rep["device"] = device
        rep["jax_version"] = jax_version
        name = f"{group}.json"
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(rep, f, indent=2)
        files.append(name)
    summary = {
        "suite": "benchmarks.gpu_suite",
        "dry_run": dry_run,
        "command": command,
        "date": started.date().isoformat(),
        "started_utc": started.strftime("%Y-%m-%d %H:%M:%S"),
        "wall_s": round(wall_s, 1),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".replace("  ", " "),
        "device": device,
        "jax_version": jax_version,
        "probe": probe_info,
        "targets": targets,
        "target_lines": target_lines(targets),
        "steps": [
            {"name": s.name, "kind": s.kind, "size": s.size, "status": s.status, "returncode": s.returncode,
             "wall_s": s.wall_s, "limit_s": s.limit_s, "command": command_str(s.argv), "error": s.error}
            for s in steps
        ],
        "results": {g: rep["results"] for g, rep in reports.items()},
        "replay_copy_audit": {
            g: {str(r["seeds"]): r.get("replay_copy_audit") for r in rep["results"]}
            for g, rep in reports.items() if g.startswith("throughput-")
        },
        "files": sorted(files) + ["gpu_results.md", "summary.json"],
    }
    skipped = [s.name for s in steps if s.status == "skipped"]
    if skipped:
        names = ",".join((["probe"] if "probe" not in skipped else []) + skipped)
        summary["rerun_skipped"] = f"bash benchmarks/gpu/run.sh{' --dry-run' if dry_run else ''} --only {names}"
    md = write_markdown(os.path.join(out_dir, "gpu_results.md"), summary, reports)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary, reports, md
