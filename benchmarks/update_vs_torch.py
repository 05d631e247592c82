"""Part 2 of ``benchmarks.peers``: the main job's 2x2048 update, ours against the same networks
and update in plain PyTorch (``peer_runners/torch_ofe_sac.py``, eager and ``torch.compile``).

The runner gets every size and hyperparameter of our config on its command line, and its
parameter counts must equal ours, network by network, before anything is timed. FLOPs per
update come from our compiled program and serve for both sides (the same arithmetic); the
fraction of peak divides the achieved FLOP/s by the matmul peak measured in the same run.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.goals import goal, ratio
from benchmarks.json_subprocess import BenchmarkError, run_json
from benchmarks.our_update import UPDATE_WARMUP_CALLS, measure_ours_update, ours_param_counts
from benchmarks.peer_venv import venv_python

RUNNERS = Path(__file__).resolve().parent / "peer_runners"
UPDATE_CONFIG = "gym_ant_sac_ours"
GYM_ANT_DIMS = (111, 8)  # Gymnasium Ant-v4 with contact forces: Table 2's layer sizes
PEAK_FRACTION_GOAL = 0.9


class ParamCountMismatch(BenchmarkError):
    pass


def torch_runner_args(cfg, obs_dim: int, act_dim: int) -> list[str]:
    """Command-line arguments giving the PyTorch runner our config's sizes and hyperparameters."""
    from largerl_jax.networks.layers import BN_MOMENTUM

    ag, ofe = cfg.agent, cfg.agent.ofenet
    if ag.name != "sac_v1" or ag.get("features") != "ofenet":
        raise BenchmarkError(f"{cfg.name}: the PyTorch runner implements OFENet + SAC v1, got {ag.name}")
    for net in ("actor", "critic", "value"):
        t = ag[net]
        if (t.arch, t.activation, t.batch_norm, t.spectral_norm, t.widths) != ("densenet", "swish", False, "none", None):
            raise BenchmarkError(f"{cfg.name}: the PyTorch runner implements swish MLP-DenseNets, {net} is {t}")
        if (t.width, t.depth) != (ag.actor.width, ag.actor.depth):
            raise BenchmarkError(f"{cfg.name}: the PyTorch runner needs one width and depth for all networks")
    if (ofe.activation, ofe.batch_norm, ofe.use_target, ofe.sa_num_layers, ofe.sa_units) != (
        "swish", True, True, None, None
    ):
        raise BenchmarkError(f"{cfg.name}: the PyTorch runner implements the default OFENet, got {ofe}")
    if ag.critic_loss != "huber" or ag.grad_clip or len({ag.actor_lr, ag.critic_lr, ag.value_lr}) != 1:
        raise BenchmarkError(f"{cfg.name}: the PyTorch runner needs Huber loss, no clipping and one learning rate")
    return [
        f"--obs-dim={obs_dim}", f"--act-dim={act_dim}", f"--batch-size={ag.batch_size}",
        f"--ofe-layers={ofe.num_layers}", f"--ofe-units={ofe.units}",
        f"--predict-dims={ofe.predict_dims if ofe.predict_dims is not None else obs_dim}",
        f"--bn-momentum={1.0 - BN_MOMENTUM:g}", f"--bn-eps={ofe.bn_epsilon:g}",
        f"--width={ag.actor.width}", f"--depth={ag.actor.depth}", f"--lr={ag.actor_lr:g}",
        f"--ofe-lr={ofe.learning_rate:g}", f"--gamma={ag.gamma:g}", f"--tau={ag.tau:g}", f"--ofe-tau={ofe.tau:g}",
        f"--alpha={ag.init_temperature:g}", f"--reward-scale={ag.reward_scale:g}", f"--huber-delta={ag.huber_delta:g}",
        f"--log-std-min={ag.log_std_min:g}", f"--log-std-max={ag.log_std_max:g}",
    ]


def run_torch_update(venv: str, runner_args: list[str], updates: int, compile: bool = False, counts_only=False,
                     timeout: float | None = None) -> dict:
    cmd = [venv_python(venv), str(RUNNERS / "torch_ofe_sac.py"), *runner_args]
    if counts_only:
        cmd.append("--counts-only")
    else:
        cmd += [f"--updates={updates}", f"--warmup-calls={UPDATE_WARMUP_CALLS}"]
    if compile:
        cmd.append("--compile")
    what = "PyTorch update" + (" (torch.compile)" if compile else "") + (" parameter count" if counts_only else "")
    with tempfile.TemporaryDirectory() as tmp:
        return run_json(cmd, what, cwd=tmp, timeout=timeout)


def param_count_rows(ours: dict, theirs: dict) -> list[dict]:
    """One row per network (union of both dicts), ``equal`` where both sides have it and agree."""
    rows = []
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name), theirs.get(name)
        rows.append({"network": name, "ours": a, "torch": b, "equal": a is not None and a == b})
    return rows


def compare_param_counts(ours: dict, theirs: dict) -> list[dict]:
    """``param_count_rows``; raises ParamCountMismatch listing every network whose counts
    differ or that one side lacks."""
    rows = param_count_rows(ours, theirs)
    bad = [r for r in rows if not r["equal"]]
    if bad:
        lines = [f"  {r['network']}: ours {r['ours']}, PyTorch {r['torch']}" for r in bad]
        raise ParamCountMismatch(
            "the PyTorch networks are not ours; parameter counts differ:\n" + "\n".join(lines)
        )
    return rows


def update_summary(ours: dict | None, torch_eager: dict | None, torch_compiled: dict | None, peak_gflops) -> dict:
    """Updates/s, their ratios and each one's fraction of the matmul peak, with FLOPs per update
    taken from our compiled program for all (the same arithmetic)."""
    flops = (ours or {}).get("flops_per_update")

    def frac(rate):
        if rate is None or flops is None or not peak_gflops:
            return None
        return round(flops * rate / (peak_gflops * 1e9), 4)

    rate = lambda r: (r or {}).get("updates_per_s")
    return {
        "flops_per_update": flops,
        "peak_gflops": peak_gflops,
        "ours_updates_per_s": rate(ours),
        "torch_eager_updates_per_s": rate(torch_eager),
        "torch_compile_updates_per_s": rate(torch_compiled),
        "ours/torch_eager": ratio(rate(ours), rate(torch_eager)),
        "ours/torch_compile": ratio(rate(ours), rate(torch_compiled)),
        "ours_fraction_of_peak": frac(rate(ours)),
        "torch_eager_fraction_of_peak": frac(rate(torch_eager)),
        "torch_compile_fraction_of_peak": frac(rate(torch_compiled)),
        "ours_achieved_gflops": round(flops * rate(ours) / 1e9, 1) if flops and rate(ours) else None,
    }


def update_goals(summary: dict) -> list[dict]:
    return [goal("ant_sac_ofe update >= 90% of matmul peak (CPU)", summary.get("ours_fraction_of_peak"),
                 PEAK_FRACTION_GOAL, "")]


def run_part(args, report: dict, log) -> None:
    """Measures into ``report['update']``; raises BenchmarkError (ParamCountMismatch) where
    the PyTorch networks are not ours, and reports any other failure in ``report['errors']``."""
    from benchmarks.matmul import measure_peak
    from experiments.configs import get_config

    cfg = get_config(UPDATE_CONFIG)
    obs_dim, act_dim = GYM_ANT_DIMS
    upd = report["update"] = {"config": UPDATE_CONFIG, "obs_dim": obs_dim, "act_dim": act_dim}
    runner_args = torch_runner_args(cfg, obs_dim, act_dim)
    upd["torch_runner_args"] = runner_args
    # The PyTorch networks must be ours before anything is timed.
    ours_counts = ours_param_counts(cfg, obs_dim, act_dim)
    torch_counts = run_torch_update(args.venv, runner_args, args.updates, counts_only=True)["params"]
    upd["param_counts"] = param_count_rows(ours_counts, torch_counts)
    compare_param_counts(ours_counts, torch_counts)  # raises ParamCountMismatch
    log("[update] matmul peak ...")
    peak = measure_peak(repeats=5)
    upd["matmul"] = peak
    log(f"         {peak['peak_gflops']:,.1f} GFLOP/s")
    log(f"[update] ours: compile, {UPDATE_WARMUP_CALLS} warm-up + {args.updates} timed updates ...")
    ours = torch_eager = None
    try:
        ours = upd["ours"] = measure_ours_update(cfg, obs_dim, act_dim, args.updates)
        log(f"         {ours['updates_per_s']:.3f} updates/s")
    except Exception as e:  # noqa: BLE001 - reported, the run goes on with the other parts
        report["errors"].append(f"our update benchmark failed: {type(e).__name__}: {e}")
    log(f"[update] PyTorch eager: {UPDATE_WARMUP_CALLS} warm-up + {args.updates} timed updates ...")
    try:
        torch_eager = upd["torch_eager"] = run_torch_update(args.venv, runner_args, args.updates)
        log(f"         {torch_eager['updates_per_s']:.3f} updates/s")
    except BenchmarkError as e:
        report["errors"].append(str(e))
    torch_compiled = _run_torch_compile(args, runner_args, upd, log)
    upd["summary"] = update_summary(ours, torch_eager, torch_compiled, peak["peak_gflops"])
    report["goals"] += update_goals(upd["summary"])


def _run_torch_compile(args, runner_args: list[str], upd: dict, log) -> dict | None:
    """The torch.compile variant; a failure or a timeout is recorded in ``upd``, not as an
    error of the run."""
    if args.no_torch_compile:
        upd["torch_compile_status"] = "not run (--no-torch-compile)"
        return None
    log(f"[update] PyTorch torch.compile (at most {args.compile_timeout} s) ...")
    try:
        compiled = upd["torch_compile"] = run_torch_update(
            args.venv, runner_args, args.updates, compile=True, timeout=args.compile_timeout
        )
    except BenchmarkError as e:
        upd["torch_compile_status"] = "failed: " + str(e).splitlines()[0]
        upd["torch_compile_error"] = str(e)
        log(f"         torch.compile failed (reported, not an error of this run): {str(e).splitlines()[0]}")
        return None
    upd["torch_compile_status"] = f"compiled in its warm-up calls ({compiled['warmup_s']:.0f} s)"
    log(f"         {compiled['updates_per_s']:.3f} updates/s")
    return compiled
