"""Matrix-multiply throughput of the default JAX device (the ceiling for compute-bound updates).

    python -m benchmarks.matmul [--sizes=1024,2048,4096] [--dtype=float32] [--repeats=10]
        [--out=FILE.json]

Times ``jit(a @ b)`` on the default device (CPU here, the GPU where there is one) for square
sizes n x n x n and for the shapes of the main job's 2x2048 update at batch 256: the forward
products [256, 2159] x [2159, 2048] and [256, 4207] x [4207, 2048] of the actor's and V's
DenseNet layers, and the weight gradient x^T dy with x [256, 4207], dy [256, 2048]. Each shape
is compiled and run once untimed, then ``--repeats`` calls are timed one by one
(block_until_ready); GFLOP/s = 2 M K N / time, reported as the median and the best call.
"peak" is the best square size's median. Printed as a table and saved as JSON
(default benchmarks/results/matmul.json); ``measure_peak`` is the same measurement for other
scripts.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

from benchmarks.report_io import write_report

DEFAULT_SIZES = (1024, 2048, 4096)

# (label, how the operands are laid out, M, K, N): "ab" multiplies a [M, K] by b [K, N];
# "xt_dy" is the weight gradient x^T dy with x [K, M] and dy [K, N], contracting the batch.
UPDATE_SHAPES = (
    ("fwd 256x2159 @ 2159x2048 (layer 1)", "ab", 256, 2159, 2048),
    ("fwd 256x4207 @ 4207x2048 (layer 2)", "ab", 256, 4207, 2048),
    ("wgrad x^T dy, x 256x4207, dy 256x2048", "xt_dy", 4207, 256, 2048),
)


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.matmul", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated square sizes")
    p.add_argument("--dtype", default="float32", help="operand dtype (float32, bfloat16, float16, ...)")
    p.add_argument("--repeats", type=int, default=10, help="timed calls per shape")
    p.add_argument("--out", default=None, help="JSON output path (default benchmarks/results/matmul.json)")
    return p


def parse_sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in text.split(",") if s.strip())
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes must list positive integers, got {text!r}")
    return sizes


def _time_shape(layout: str, m: int, k: int, n: int, dtype: str, repeats: int, key) -> dict:
    import jax

    k_a, k_b = jax.random.split(key)
    if layout == "ab":
        a = jax.random.normal(k_a, (m, k), dtype)
        b = jax.random.normal(k_b, (k, n), dtype)
        fn = jax.jit(lambda a, b: a @ b)
    elif layout == "xt_dy":
        a = jax.random.normal(k_a, (k, m), dtype)  # x [batch, in]
        b = jax.random.normal(k_b, (k, n), dtype)  # dy [batch, out]
        fn = jax.jit(lambda x, dy: x.T @ dy)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    compiled = fn.lower(a, b).compile()
    jax.block_until_ready(compiled(a, b))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(a, b))
        times.append(time.perf_counter() - t0)
    flops = 2.0 * m * k * n
    return {
        "m": m,
        "k": k,
        "n": n,
        "layout": layout,
        "flops": flops,
        "time_s_median": statistics.median(times),
        "time_s_best": min(times),
        # 4 significant figures, not 2 decimals: tiny shapes on a loaded CPU run below 0.01
        "gflops_median": float(f"{flops / statistics.median(times) / 1e9:.4g}"),
        "gflops_best": float(f"{flops / min(times) / 1e9:.4g}"),
    }


def measure_peak(
    sizes=DEFAULT_SIZES, dtype: str = "float32", repeats: int = 10, update_shapes: bool = True
) -> dict:
    """Times square matmuls (and, with ``update_shapes``, the 2x2048 update's shapes) on the
    default device. Returns ``{'device', 'dtype', 'repeats', 'results': [row, ...],
    'peak_gflops'}``, each row with its label, m, k, n, gflops_median and gflops_best;
    peak_gflops is the best square size's median GFLOP/s."""
    import jax

    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    key = jax.random.PRNGKey(0)
    rows = []
    shapes = [(f"square {s}", "ab", s, s, s) for s in sizes]
    if update_shapes:
        shapes += list(UPDATE_SHAPES)
    for i, (label, layout, m, k, n) in enumerate(shapes):
        row = _time_shape(layout, m, k, n, dtype, repeats, jax.random.fold_in(key, i))
        rows.append({"label": label, "square": label.startswith("square"), **row})
    squares = [r["gflops_median"] for r in rows if r["square"]]
    return {
        "device": str(jax.devices()[0]),
        "dtype": dtype,
        "repeats": repeats,
        "results": rows,
        "peak_gflops": max(squares) if squares else None,
    }


def format_table(result: dict) -> str:
    lines = [f"{'shape':<40} {'M x K x N':>18} {'median GFLOP/s':>15} {'best GFLOP/s':>13}"]
    for r in result["results"]:
        mkn = f"{r['m']}x{r['k']}x{r['n']}"
        lines.append(f"{r['label']:<40} {mkn:>18} {r['gflops_median']:>15,.1f} {r['gflops_best']:>13,.1f}")
    lines.append(f"peak (best square median): {result['peak_gflops']:,.1f} GFLOP/s on {result['device']} ({result['dtype']})")
    return "\n".join(lines)


def machine_info() -> dict:
    import jax

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as e:
        parser.error(str(e))
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    import jax

    result = measure_peak(sizes, args.dtype, args.repeats)
    print(format_table(result))
    report = {
        "command": "python -m benchmarks.matmul " + " ".join(argv),
        "date": datetime.date.today().isoformat(),
        "machine": machine_info(),
        "jax_version": jax.__version__,
        **result,
    }
    write_report(report, args.out or os.path.join("benchmarks", "results", "matmul.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
