"""Fast checks of benchmarks.peers (and its parts) and benchmarks.matmul: nothing is installed
and no peer runs."""
import argparse
import json

import pytest

from benchmarks import json_subprocess, matmul, our_update, peer_venv, peers, sac_vs_peers, update_vs_torch
from experiments.configs import get_config


def _sac_runs(host=300.0, mjx=500.0, sbx=250.0, sb3=100.0):
    return {
        "ours_host": {"env_steps_per_s_per_seed": host},
        "ours_mjx": {"env_steps_per_s_per_seed": mjx},
        "sbx": {"env_steps_per_s_per_seed": sbx},
        "sb3": {"env_steps_per_s_per_seed": sb3},
    }


def test_sac_ratios_and_goals_pass():
    ratios = sac_vs_peers.sac_ratios(_sac_runs())
    assert ratios == {"ours_host/sbx": 1.2, "ours_host/sb3": 3.0, "ours_mjx/sb3": 5.0, "ours_mjx/sbx": 2.0}
    assert [g["status"] for g in sac_vs_peers.sac_goals(ratios)] == ["PASS", "PASS", "PASS"]


def test_sac_goals_fail_at_the_thresholds_edges():
    # host just below sbx, exactly 2x SB3 (passes: >=), MJX below 2.5x SB3
    ratios = sac_vs_peers.sac_ratios(_sac_runs(host=200.0, mjx=249.0, sbx=201.0, sb3=100.0))
    status = {g["goal"]: g["status"] for g in sac_vs_peers.sac_goals(ratios)}
    assert status == {
        "gym_ant_sac >= sbx": "FAIL",
        "gym_ant_sac >= 2x SB3": "PASS",
        "ant_sac (MJX) >= 2.5x SB3": "FAIL",
    }


def test_missing_measurements_give_none_ratios_and_na_goals():
    runs = _sac_runs()
    del runs["sb3"]
    ratios = sac_vs_peers.sac_ratios(runs)
    assert ratios["ours_host/sb3"] is None and ratios["ours_mjx/sb3"] is None
    assert ratios["ours_host/sbx"] == 1.2
    status = [g["status"] for g in sac_vs_peers.sac_goals(ratios)]
    assert status == ["PASS", "N/A", "N/A"]


def test_update_summary_fraction_of_peak():
    ours = {"updates_per_s": 2.0, "flops_per_update": 150e9}
    eager = {"updates_per_s": 1.0}
    s = update_vs_torch.update_summary(ours, eager, None, peak_gflops=400.0)
    assert s["ours_fraction_of_peak"] == pytest.approx(0.75)
    assert s["torch_eager_fraction_of_peak"] == pytest.approx(0.375)
    assert s["torch_compile_fraction_of_peak"] is None
    assert s["ours/torch_eager"] == 2.0 and s["ours/torch_compile"] is None
    assert s["ours_achieved_gflops"] == 300.0
    (goal,) = update_vs_torch.update_goals(s)
    assert goal["status"] == "FAIL" and goal["threshold"] == 0.9
    s = update_vs_torch.update_summary({"updates_per_s": 2.5, "flops_per_update": 150e9}, None, None, peak_gflops=400.0)
    assert update_vs_torch.update_goals(s)[0]["status"] == "PASS"
    assert update_vs_torch.update_goals(update_vs_torch.update_summary(None, eager, None, 400.0))[0]["status"] == "N/A"


def test_format_report_prints_tables_goals_and_errors():
    runs = _sac_runs()
    ratios = sac_vs_peers.sac_ratios(runs)
    summary = update_vs_torch.update_summary({"updates_per_s": 1.0, "flops_per_update": 100e9}, {"updates_per_s": 0.5}, None, 200.0)
    report = {
        "sac": {"runs": runs, "ratios": ratios},
        "update": {
            "summary": summary,
            "param_counts": [{"network": "actor", "ours": 10, "torch": 10, "equal": True}],
            "torch_compile_status": "not run (--no-torch-compile)",
        },
        "goals": sac_vs_peers.sac_goals(ratios) + update_vs_torch.update_goals(summary),
        "errors": ["sb3 SAC run failed (exit 1)"],
    }
    text = peers.format_report(report)
    assert "Stable-Baselines3" in text and "27" in text and "111" in text
    assert "PASS gym_ant_sac >= sbx" in text
    assert "FAIL ant_sac_ofe update >= 90% of matmul peak" in text  # 100 GFLOP/s of 200: 50%
    assert "not run (--no-torch-compile)" in text and "sb3 SAC run failed" in text
    json.dumps(report)  # the report is JSON-serialisable as built


def test_rounds_rotate_the_order_so_none_is_always_first():
    orders = [sac_vs_peers.round_order(i) for i in range(4)]
    assert orders[0] == ["ours_host", "ours_mjx", "sbx", "sb3"]
    assert orders[1] == ["ours_mjx", "sbx", "sb3", "ours_host"]
    assert len({o[0] for o in orders}) == 4 and all(sorted(o) == sorted(orders[0]) for o in orders)
    assert sac_vs_peers.round_order(4) == orders[0]


def test_rounds_report_every_figure_and_take_ratios_and_goals_from_the_medians(monkeypatch):
    rates = {"ours_host": [300.0, 240.0, 330.0], "ours_mjx": [500.0, 260.0, 240.0],
             "sbx": [250.0, 200.0, 310.0], "sb3": [100.0, None, 130.0]}  # sb3 fails in round 2
    calls = []

    def fake_measure(key, args):
        calls.append(key)
        rate = rates[key][calls.count(key) - 1]
        if rate is None:
            raise json_subprocess.BenchmarkError("sb3 SAC run failed (exit 1)")
        return {"env_steps_per_s_per_seed": rate}

    monkeypatch.setattr(sac_vs_peers, "_measure", fake_measure)
    args = argparse.Namespace(steps=10, warmup=10, repeats=1, rounds=3, venv="unused")
    report = {"goals": [], "errors": []}
    sac_vs_peers.run_part(args, report, log=lambda msg: None)
    sac = report["sac"]
    assert calls == sum((sac_vs_peers.round_order(i) for i in range(3)), [])
    assert [r["order"][0] for r in sac["rounds"]] == ["ours_host", "ours_mjx", "sbx"]
    assert sac["runs"]["ours_host"] == {"env_steps_per_s_per_seed": 300.0,
                                        "rounds_env_steps_per_s_per_seed": [300.0, 240.0, 330.0]}
    assert sac["runs"]["sb3"]["rounds_env_steps_per_s_per_seed"] == [100.0, None, 130.0]
    assert sac["runs"]["sb3"]["env_steps_per_s_per_seed"] == 115.0  # median of the two measured
    assert sac["ratios"] == {"ours_host/sbx": 1.2, "ours_host/sb3": 2.609, "ours_mjx/sb3": 2.261, "ours_mjx/sbx": 1.04}
    assert [g["status"] for g in report["goals"]] == ["PASS", "PASS", "FAIL"]
    assert sac["ratios_by_round"][1]["ours_host/sb3"] is None and sac["ratios_by_round"][0]["ours_host/sb3"] == 3.0
    assert report["errors"] == ["round 2: sb3 SAC run failed (exit 1)"]
    text = peers.format_report(report)
    assert "round 1" in text and "round 3" in text and "median" in text
    sb3_line = next(l for l in text.splitlines() if "Stable-Baselines3" in l)
    assert sb3_line.split()[-4:] == ["100.0", "-", "130.0", "115.0"]
    assert "ours_host/sb3 3.00/-/2.54" in text
    json.dumps(report)


def test_format_report_of_a_run_stopped_by_a_param_count_mismatch():
    rows = update_vs_torch.param_count_rows({"actor": 5}, {"actor": 5, "value": 3})
    report = {"update": {"param_counts": rows}, "goals": [], "errors": ["STOPPED: counts differ"]}
    text = peers.format_report(report)
    assert "value - != 3" in text and "STOPPED" in text and "FLOPs" not in text


def test_peer_versions_are_read_by_the_venvs_own_interpreter():
    import os
    import sys
    from importlib import metadata

    venv = sys.prefix  # the test run's own virtualenv stands in for the peers'
    if not os.path.exists(peer_venv.venv_python(venv)):
        pytest.skip("not run from a virtualenv")
    versions = peer_venv.peer_versions(venv)
    assert set(versions) == set(peer_venv.PEER_VERSION_PACKAGES)
    assert versions["jax"] == metadata.version("jax")


def test_compare_param_counts():
    ours = {"actor": 5, "critic": 7, "ofenet_batch_stats": 4}
    rows = update_vs_torch.compare_param_counts(ours, dict(ours))
    assert [r["network"] for r in rows] == ["actor", "critic", "ofenet_batch_stats"]
    assert all(r["equal"] for r in rows)
    with pytest.raises(update_vs_torch.ParamCountMismatch, match="critic: ours 7, PyTorch 8"):
        update_vs_torch.compare_param_counts(ours, {**ours, "critic": 8})
    with pytest.raises(update_vs_torch.ParamCountMismatch, match="value: ours None, PyTorch 3"):
        update_vs_torch.compare_param_counts(ours, {**ours, "value": 3})


def test_ours_param_counts_of_the_main_job_match_table_2():
    counts = our_update.ours_param_counts(get_config("gym_ant_sac_ours"), 111, 8)
    # Trainable parameters: inspect's tables, less batch norm's running statistics for OFENet.
    assert counts == {
        "actor": 13_141_760,
        "critic": 42_942_704,
        "value": 13_047_920,
        "ofenet": 8_469_672 - 8_192,
        "ofenet_batch_stats": 2 * 256 * 16,
    }


def test_torch_runner_args_carry_the_config():
    args = update_vs_torch.torch_runner_args(get_config("gym_ant_sac_ours"), 111, 8)
    opts = dict(a[2:].split("=", 1) for a in args)
    assert opts["width"] == "2048" and opts["depth"] == "2" and opts["predict-dims"] == "27"
    assert opts["ofe-layers"] == "8" and opts["ofe-units"] == "256" and opts["reward-scale"] == "5"
    assert float(opts["bn-momentum"]) == pytest.approx(0.01) and opts["huber-delta"] == "50"
    with pytest.raises(json_subprocess.BenchmarkError, match="OFENet \\+ SAC v1"):
        update_vs_torch.torch_runner_args(get_config("gym_ant_sac"), 111, 8)


def test_command_line_parsing(tmp_path):
    args = peers.parse_args([])
    assert (args.steps, args.warmup, args.updates, args.only, args.skip_install) == (1000, 1000, 20, None, False)
    assert args.rounds == 3 and peers.parse_args(["--rounds", "5"]).rounds == 5
    assert args.venv.endswith("peers-venv") and not args.venv.startswith("~")
    args = peers.parse_args(
        ["--steps", "300", "--warmup=300", "--updates=3", "--skip-install", "--only=update", f"--venv={tmp_path}"]
    )
    assert (args.steps, args.warmup, args.updates, args.only, args.skip_install) == (300, 300, 3, "update", True)
    assert args.venv == str(tmp_path)
    for bad in (["--only=td3"], ["--steps=0"], ["--updates=-1"], ["--rounds=0"]):
        with pytest.raises(SystemExit):
            peers.parse_args(bad)


def test_skip_install_without_a_venv_says_so(tmp_path):
    with pytest.raises(peer_venv.InstallError, match="run once without --skip-install"):
        peer_venv.ensure_peers_venv(str(tmp_path / "none"), skip_install=True, log=lambda m: None)


def test_cuda_packages_are_spotted():
    assert peer_venv.cuda_packages(["torch", "nvidia-cublas-cu12", "numpy", "triton"]) == ["nvidia-cublas-cu12", "triton"]
    assert peer_venv.cuda_packages(["torch", "sympy"]) == []


def test_last_json_line_skips_other_output():
    assert json_subprocess.last_json_line('warming up\n{"a": 1}\n{"b": 2}\ndone\n') == {"b": 2}
    with pytest.raises(ValueError):
        json_subprocess.last_json_line("no json here")


def test_matmul_measure_peak_on_tiny_sizes():
    result = matmul.measure_peak(sizes=(32, 64), repeats=2, update_shapes=False)
    assert [r["label"] for r in result["results"]] == ["square 32", "square 64"]
    assert all(r["gflops_median"] > 0 and r["gflops_best"] >= r["gflops_median"] for r in result["results"])
    assert result["peak_gflops"] == max(r["gflops_median"] for r in result["results"])
    assert result["results"][0]["flops"] == 2 * 32**3


def test_matmul_weight_gradient_shape_is_timed():
    row = matmul._time_shape("xt_dy", 48, 16, 24, "float32", 1, __import__("jax").random.PRNGKey(0))
    assert (row["m"], row["k"], row["n"], row["flops"]) == (48, 16, 24, 2 * 48 * 16 * 24)
    assert row["gflops_best"] > 0


def test_matmul_cli_parses_sizes():
    assert matmul.parse_sizes("1024, 2048,") == (1024, 2048)
    with pytest.raises(ValueError):
        matmul.parse_sizes("0")
