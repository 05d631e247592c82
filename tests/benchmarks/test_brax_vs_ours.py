"""Fast checks of benchmarks.peers' Part 3 (ours against Brax's SAC trainer): the equal-work check,
the rounds' medians and goals with both sides faked, the 8-seed totals, the report's lines, and
that our worker reports the same settings Brax's runner does for the equal-work fields."""
import argparse

import pytest

from benchmarks import brax_vs_ours, peers
from benchmarks.json_subprocess import BenchmarkError

SETTINGS = {"env_class": "brax.envs.ant.Ant", "backend": "mjx", "n_frames": 5, "dt": 0.05, "solver": 2,
            "iterations": 1, "ls_iterations": 4, "obs_dim": 27, "act_dim": 8, "num_envs": 64,
            "updates_per_iteration": 8, "batch_size": 256, "replay_capacity": 1_000_000,
            "actor_params": 77072, "critic_params": 150530, "num_q": 2}


def test_equal_work_passes_and_names_every_drifted_field():
    brax_vs_ours.check_equal_work(SETTINGS, {**SETTINGS, "dt": 0.05 + 1e-12, "distribution": "x"})
    with pytest.raises(BenchmarkError) as e:
        brax_vs_ours.check_equal_work(SETTINGS, {**SETTINGS, "num_envs": 32, "critic_params": 1})
    msg = str(e.value)
    assert "num_envs: ours 64, Brax 32" in msg and "critic_params" in msg and "actor_params" not in msg
    missing = dict(SETTINGS)
    del missing["solver"]
    with pytest.raises(BenchmarkError, match="solver"):
        brax_vs_ours.check_equal_work(missing, SETTINGS)


def test_rounds_interleave_and_goals_come_from_the_medians(monkeypatch):
    calls = []
    rates = {"ours": iter([1000.0, 1300.0] * 3), "brax": iter([1000.0, 900.0] * 3)}

    def fake_ours(regime, seeds, iterations, repeats):
        calls.append(("ours", regime, seeds))
        if seeds > 1:
            return {"env_steps_per_s_per_seed": 1.0, "compile_s": 20.0, "chunk_s_median": 10.0,
                    "process_wall_s": 60.0, "settings": SETTINGS}
        return {"env_steps_per_s_per_seed": next(rates["ours"]), "settings": SETTINGS}

    def fake_brax(regime, seeds, iterations, epochs):
        calls.append(("brax", regime, seeds))
        if seeds > 1:
            # 8 runs of 4 epochs of 200 x 64 env steps at these rates
            runs = [{"env_steps_per_s_all_epochs": [200.0, 1600.0, 1600.0, 1600.0]}] * seeds
            return {"env_steps_per_s_per_seed": 1600.0, "runs": runs, "process_wall_s": 900.0, "settings": SETTINGS}
        return {"env_steps_per_s_per_seed": next(rates["brax"]), "settings": SETTINGS}

    monkeypatch.setattr(brax_vs_ours, "run_ours", fake_ours)
    monkeypatch.setattr(brax_vs_ours, "run_brax", fake_brax)
    report = {"goals": [], "errors": []}
    args = argparse.Namespace(rounds=2, repeats=3)
    brax_vs_ours.run_part(args, report, lambda m: None)
    assert report["errors"] == []
    firsts = [c[0] for c in calls if c[1] == "1x1"]
    assert firsts == ["ours", "brax", "brax", "ours"]  # round 2 reverses the order
    r = report["brax"]["regimes"]["1x1"]
    assert r["ours"] == 1150.0 and r["brax"] == 950.0 and r["ours/brax"] == pytest.approx(1.211, abs=1e-3)
    status = {g["goal"]: g["status"] for g in report["goals"]}
    assert status["ant_sac 1x1 >= 1.25x Brax SAC per seed"] == "FAIL"
    s = report["brax"]["seeds"]
    # ours: 20 s compile + 4 chunks of 10 s; Brax: 8 x (12800/200 + 3 x 12800/1600) s
    assert s["ours_s"] == 60.0 and s["brax_s"] == pytest.approx(8 * (64 + 24))
    assert status["8 vmapped seeds ahead of Brax's 8 runs (wall time)"] == "PASS"
    text = "\n".join(brax_vs_ours.format_part(report["brax"]))
    assert "Part 3" in text and "1024x2b8192" in text and "Brax/ours" in text


def test_a_drift_stops_the_part(monkeypatch):
    monkeypatch.setattr(brax_vs_ours, "run_ours", lambda *a: {"env_steps_per_s_per_seed": 1.0, "settings": SETTINGS})
    monkeypatch.setattr(brax_vs_ours, "run_brax", lambda *a: {"env_steps_per_s_per_seed": 1.0,
                                                              "settings": {**SETTINGS, "n_frames": 1}})
    with pytest.raises(BenchmarkError, match="n_frames"):
        brax_vs_ours.run_part(argparse.Namespace(rounds=1, repeats=1), {"goals": [], "errors": []}, lambda m: None)


def test_peers_accepts_only_brax():
    assert peers.parse_args(["--only=brax"]).only == "brax"


def test_our_worker_reports_the_equal_work_fields():
    """Our side of the check, read from a built ant_sac driver at 64x8 (no timing)."""
    import jax
    import jax.numpy as jnp

    from benchmarks.iteration_profile import regime_overrides
    from benchmarks.throughput import _parser, work_settings
    from experiments.cli import config_from_args
    from largerl_jax.training import make_driver

    _, cfg = config_from_args(_parser(), ["--config=ant_sac", *regime_overrides(64, 8, 256)])
    cfg.replay_capacity = 64 * 4
    driver = make_driver(cfg, [0])
    ts = driver.abstract_state(jnp.stack([jax.random.PRNGKey(0)]), cfg.replay_capacity)
    got = work_settings(cfg, driver, ts)
    expected = {**SETTINGS, "replay_capacity": 256}
    assert {k: got[k] for k in brax_vs_ours.EQUAL_WORK_FIELDS if k != "dt"} == {
        k: expected[k] for k in brax_vs_ours.EQUAL_WORK_FIELDS if k != "dt"}
    assert got["dt"] == pytest.approx(0.05)
