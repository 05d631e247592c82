"""Per-op time of compiled XLA:CPU programs, from a JAX profiler trace and XLA's HLO dump.

XLA:CPU's thunk executor records one trace event per executed HLO instruction (``hlo_op``,
``hlo_module``); XLA's text dump after optimisation gives each instruction's opcode and the
metadata JAX attached (``op_name`` with the named scopes, ``source_file``). ``op_table`` joins
the two and sums event durations per category, leaving out control-flow instructions (while,
conditional, call), whose events enclose the events of their bodies.

Categories are given as ordered (name, substrings) rules matched against
``op_name + " " + source_file``; the first rule that matches wins, else 'other'. The sums are
thread time: XLA:CPU runs independent instructions on several threads at once, so they may add
up to more than the wall time.
"""
from __future__ import annotations

import collections
import glob
import os
import re

_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*.*?\s([\w\-]+)\(")
_META = re.compile(r'metadata=\{([^}]*)\}')
_FIELD = re.compile(r'(\w+)="([^"]*)"')
_COMP = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$")
_CALLS = re.compile(r"(?:calls|body)=%?([\w.\-]+)")
_OPERAND = re.compile(r"%([\w.\-]+)")
CONTROL = ("while", "conditional", "call")


def xla_dump_flags(dump_dir: str) -> str:
    """XLA_FLAGS that write every module's optimised HLO as text into ``dump_dir``."""
    return f"--xla_dump_to={dump_dir} --xla_dump_hlo_as_text --xla_dump_hlo_pass_re=^$"


def _parse_module(path: str) -> dict:
    """{instruction: (opcode, metadata text, operand names, called computation)} and
    {computation: [its instructions]} of one optimised HLO text file."""
    instrs, comps, current = {}, {}, None
    with open(path) as f:
        for line in f:
            head = _COMP.match(line)
            if head:
                current = head.group(1)
                comps[current] = []
                continue
            m = _INSTR.match(line)
            if not m:
                continue
            meta = _META.search(line)
            fields = dict(_FIELD.findall(meta.group(1))) if meta else {}
            text = f"{fields.get('op_name', '')} {fields.get('source_file', '')}".strip()
            args = line[m.end():].split(")", 1)[0]
            calls = _CALLS.search(line)
            instrs[m.group(1)] = (m.group(2), text, _OPERAND.findall(args), calls.group(1) if calls else None)
            if current is not None:
                comps[current].append(m.group(1))
    return instrs, comps


def _metadata(name: str, instrs: dict, comps: dict, depth: int = 0) -> str:
    """An instruction's metadata; XLA drops it on some dots and custom fusions, which then take
    that of their fused body or, failing that, of their operands (the values they consume)."""
    opcode, text, operands, calls = instrs.get(name, ("", "", [], None))
    body = comps.get(calls, ()) if calls else ()
    # A fusion's cost is its matrix products' when it has any (XLA:CPU's YNNPACK fusions pull a
    # reduction or an activation in with a dot and take the metadata of that root).
    for inner in body:
        if instrs[inner][0] in ("dot", "convolution") and instrs[inner][1]:
            return instrs[inner][1]
    if text or depth > 6:
        return text
    for inner in body:
        if instrs[inner][1]:
            return instrs[inner][1]
    for op in operands:
        found = _metadata(op, instrs, comps, depth + 1)
        if found:
            return found
    return ""


def instruction_info(dump_dir: str, module_substring: str, traced_ops=()) -> dict[str, tuple[str, str]]:
    """{instruction name: (opcode, 'op_name source_file')} of the optimised module whose file
    name contains ``module_substring``; where several do (Brax's pmapped programs are all
    ``jit__fun``), the one that holds the most of ``traced_ops``, the instructions that ran."""
    best, best_overlap = None, -1
    wanted = set(traced_ops)
    for path in sorted(glob.glob(os.path.join(dump_dir, "*after_optimizations.txt"))):
        if module_substring not in os.path.basename(path):
            continue
        instrs, comps = _parse_module(path)
        overlap = len(wanted & instrs.keys())
        if overlap > best_overlap:
            best, best_overlap = (instrs, comps), overlap
    if best is None:
        return {}
    instrs, comps = best
    return {name: (opcode, _metadata(name, instrs, comps)) for name, (opcode, *_rest) in instrs.items()}


def trace_events(trace_dir: str, module_substring: str) -> list[tuple[str, float]]:
    """(hlo_op, duration in ms) of every op event of the matching modules in the trace."""
    from jax._src.lib import _profile_data

    paths = glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True)
    if not paths:
        raise FileNotFoundError(f"no profiler trace under {trace_dir}")
    events = []
    for path in paths:
        for plane in _profile_data.ProfileData.from_file(path).planes:
            for line in plane.lines:
                for e in line.events:
                    stats = dict(e.stats)
                    if "hlo_op" in stats and module_substring in str(stats.get("hlo_module", "")):
                        events.append((stats["hlo_op"], e.duration_ns / 1e6))
    return events


def categorize(text: str, rules) -> str:
    """The first rule with a needle in ``text``; a needle that is a tuple needs all its parts."""
    for name, needles in rules:
        if any(all(p in text for p in n) if isinstance(n, tuple) else n in text for n in needles):
            return name
    return "other"


def op_table(trace_dir: str, dump_dir: str, module_substring: str, rules, per: float = 1.0) -> dict:
    """Thread-ms per category (divided by ``per``, e.g. the iterations traced) and the 12
    costliest instructions, each with its category and metadata."""
    events = trace_events(trace_dir, module_substring)
    info = instruction_info(dump_dir, module_substring, {op for op, _ in events})
    if not info:
        raise FileNotFoundError(f"no optimised HLO of a module matching {module_substring!r} in {dump_dir}")
    by_cat = collections.Counter()
    by_op = collections.Counter()
    for op, ms in events:
        opcode, meta = info.get(op, ("?", ""))
        if opcode in CONTROL:
            continue
        by_cat[categorize(meta, rules)] += ms / per
        by_op[op] += ms / per
    total = sum(by_cat.values())
    top = [{"op": op, "ms": round(ms, 4), "category": categorize(info.get(op, ("", ""))[1], rules),
            "meta": info.get(op, ("", ""))[1][:160]} for op, ms in by_op.most_common(12)]
    return {
        "thread_ms": {k: round(v, 4) for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])},
        "thread_ms_total": round(total, 4),
        "share": {k: round(v / total, 4) for k, v in by_cat.items()} if total else {},
        "top_ops": top,
    }
