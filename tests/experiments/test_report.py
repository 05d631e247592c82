"""experiments.report on run folders fabricated with known numbers: config.json written as the
runner writes it (the named config's JSON plus _num_seeds and _package_version), metrics.jsonl
through training.run_files.metrics_io."""
import json
import os

import numpy as np
import pytest

from experiments.configs import get_config
from experiments.overrides import apply_overrides
from experiments.report import main as report_main
from largerl_jax.training.run_files import metrics_io as records_io
def _run(path, name, returns, overrides=(), extra=None):
    """A run folder of config ``name``; ``returns`` maps env_steps -> per-seed eval returns."""
    cfg = apply_overrides(get_config(name), list(overrides))
    seeds = len(next(iter(returns.values())))
    os.makedirs(path)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump({**json.loads(cfg.to_json_best_effort(sort_keys=True)), "_num_seeds": seeds,
                   "_package_version": "0.1.0"}, f, indent=2, sort_keys=True)
    recs = []
    for step, values in returns.items():
        for seed, value in enumerate(values):
            r = {"seed": seed, "env_steps": step, "grad_steps": max(0, step - 100), "eval_return": value,
                 "eval_return_std": 1.0, "wall_time_s": 1.0}
            r.update((extra or {}).get((step, seed), {}))
            recs.append(r)
    records_io.write(os.path.join(path, "metrics.jsonl"), recs)
    return str(path)


def _table(markdown, heading_prefix="|"):
    """{row name: [cells]} of the first markdown table in ``markdown``."""
    lines = [ln for ln in markdown.splitlines() if ln.startswith(heading_prefix)]
    rows = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return [c.strip() for c in lines[0].strip("|").split("|")][1:], rows


def test_curves_hold_mean_and_standard_error(tmp_path):
    a = _run(tmp_path / "a", "pendulum_sac", {1000: [1.0, 2.0, 6.0], 2000: [3.0, 3.0, 3.0]},
             [("total_env_steps", "2000")])
    b = _run(tmp_path / "b", "pendulum_sac", {1000: [10.0, 20.0], 2000: [float("nan"), 40.0]},
             [("total_env_steps", "2000")])
    out = tmp_path / "out"
    assert report_main([a, b, f"--out={out}", "--x=env_steps", "--labels=A,B"]) == 0
    curves = json.load(open(out / "curves.json"))
    assert curves["A"]["x"] == [1000, 2000]
    np.testing.assert_allclose(curves["A"]["mean"], [3.0, 3.0])
    np.testing.assert_allclose(curves["A"]["se"], [np.std([1, 2, 6], ddof=1) / np.sqrt(3), 0.0])
    np.testing.assert_allclose(curves["A"]["std"], [np.std([1, 2, 6]), 0.0])
    # a diverged seed (NaN) is left out: one seed left at 2000, no spread to estimate
    np.testing.assert_allclose(curves["B"]["mean"], [15.0, 40.0])
    np.testing.assert_allclose(curves["B"]["se"], [np.std([10, 20], ddof=1) / np.sqrt(2), 0.0])
    assert (out / "curves.png").stat().st_size > 1000
    assert not (out / "table1.md").exists()  # pendulum SAC with 4 envs and raw inputs fits no column


def test_table1_cells_bold_and_methods(tmp_path):
    short = [("total_env_steps", "2000")]
    dirs = [
        # ant SAC: best mean is 250 (at 2000), not the best seed's 300
        _run(tmp_path / "ours", "ant_sac_small_ours", {1000: [100.0, 300.0], 2000: [250.0, 250.0]}, short),
        _run(tmp_path / "ofenet", "ant_sac_small_no_apex", {1000: [50.0, 70.0], 2000: [20.0, 40.0]}, short),
        # ... and its warm-up evaluation (grad step 0: the untrained policy) does not count
        _run(tmp_path / "orig", "ant_sac_small_original", {100: [900.0, 900.0], 1000: [400.0, 500.0], 2000: [0.0, 0.0]}, short),
        # hopper TD3: Original only, unfinished (1000 of 2000 env steps)
        _run(tmp_path / "td3", "hopper_td3_original", {1000: [7.0, 9.0]}, short),
        # a run left out of every table by --methods
        _run(tmp_path / "skip", "hopper_td3_ofenet", {2000: [1e6, 1e6]}, short),
    ]
    out = tmp_path / "out"
    assert report_main([*dirs, f"--out={out}", "--methods=auto,auto,auto,auto,none"]) == 0
    text = (out / "table1.md").read_text()
    header, rows = _table(text)
    assert header == ["SAC Ours", "SAC OFENet", "SAC Original", "TD3 Ours", "TD3 OFENet", "TD3 Original"]
    assert list(rows) == ["hopper", "ant"]  # the paper's row order
    assert rows["ant"] == ["250.0", "60.0", "**450.0**", "—", "—", "—"]
    assert rows["hopper"] == ["—", "—", "—", "—", "—", "**8.0†**"]
    assert "1000000" not in text
    assert "(ant_sac_small_ours, 2 seeds, 2 evaluations up to 2000 of 2000 env steps, best at env step 2000 " \
           "(grad step 1900); differs from the named config in total_env_steps=2000)" in text
    # --methods overrides the config's method
    out2 = tmp_path / "out2"
    assert report_main([dirs[0], dirs[2], f"--out={out2}", "--methods=ofenet,none"]) == 0
    _, rows = _table((out2 / "table1.md").read_text())
    assert rows["ant"][:3] == ["—", "**250.0**", "—"]


def test_pruning_tables_score_and_ratios(tmp_path):
    short = [("total_env_steps", "1000"), ("eval_every_env_steps", "200")]
    evals = (200, 400, 600, 800, 1000)
    # OFE baseline, unpruned: counted from its config as experiments.inspect counts it
    ofe = _run(tmp_path / "ofe", "gym_hopper_xinet_ofe", {s: [10.0 * s, 10.0 * s] for s in evals}, short)
    ofe_deploy, ofe_train = 138_152, 650_015  # python -m experiments.inspect --config=gym_hopper_xinet_ofe
    # pruned: its best evaluation (5000 at 600) lies before the last 20% (>= 800) and must not count
    returns = {200: [0.0, 0.0], 400: [0.0, 0.0], 600: [5000.0, 5000.0], 800: [3000.0, 3200.0], 1000: [2000.0, 2000.0]}
    counts = {(1000, 0): {"params/deploy": 60_000.0, "params/train": 300_000.0},
              (1000, 1): {"params/deploy": 80_000.0, "params/train": 350_000.0},
              (800, 0): {"params/deploy": 1e6, "params/train": 1e7}}  # not the last record: ignored
    prune = _run(tmp_path / "prune", "gym_hopper_xinet_prune_b", returns, short, extra=counts)
    # a pruned run on a task without an OFE run among the DIRs: no ratios
    cheetah = _run(tmp_path / "cheetah", "gym_halfcheetah_xinet_prune_c", {1000: [7.0, 9.0]}, short,
                   extra={(1000, 0): {"params/deploy": 5_000.0, "params/train": 20_000.0},
                          (1000, 1): {"params/deploy": 5_000.0, "params/train": 20_000.0}})
    out = tmp_path / "out"
    assert report_main([prune, cheetah, ofe, f"--out={out}"]) == 0
    text = (out / "pruning_tables.md").read_text()
    t3, t4 = text.split("## Table 4")
    header, rows = _table(t3)
    assert header == ["HalfCheetah-v4", "Hopper-v4"]  # the paper's column order
    assert list(rows) == ["OFE", "Prune-B", "Prune-C"]  # the paper's row order
    assert rows["OFE"] == ["—", "10000 (100% / 100%)"]
    deploy, train = 70_000 / ofe_deploy, 325_000 / ofe_train
    assert rows["Prune-B"] == ["—", f"3100 ({100 * deploy:.0f}% / {100 * train:.0f}%)"]
    assert rows["Prune-C"] == ["8 (— / —)", "—"]
    _, rows = _table(t4)
    assert rows["OFE"] == ["—", f"{ofe_deploy / 1000:.0f} / {ofe_train / 1000:.0f}"]
    assert rows["Prune-B"] == ["—", "70 / 325"] and rows["Prune-C"] == ["5.0 / 20", "—"]
    assert not (out / "table1.md").exists()
    # two runs of one variant get their labels as rows
    out2 = tmp_path / "out2"
    assert report_main([ofe, prune, f"--out={out2}", "--labels=OFE small,Prune-B small"]) == 0
    _, rows = _table((out2 / "pruning_tables.md").read_text().split("## Table 4")[0])
    assert list(rows) == ["OFE small", "Prune-B small"]


def _grid(path, axes, points, returns):
    os.makedirs(path)
    with open(os.path.join(path, "grid.json"), "w") as f:
        json.dump({"grid": "g" + str(len(axes)), "base": "pendulum_sac", "axes": axes, "points": points}, f)
    for name, values in returns.items():
        d = os.path.join(path, name)
        os.makedirs(d)
        if values is None:  # started, nothing evaluated yet
            continue
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"name": f"g/{name}", "total_env_steps": max(values), "_num_seeds": 2}, f)
        recs = [{"seed": s, "env_steps": step, "grad_steps": step, "eval_return": v}
                for step, per_seed in values.items() for s, v in enumerate(per_seed)]
        records_io.write(os.path.join(d, "metrics.jsonl"), recs)
    return str(path)


def test_grid_heatmap_best_values_and_missing_points(tmp_path):
    axes = {"units": [128, 256], "layers": [1, 2]}
    points = [{"name": f"units{u}_layers{n}", "values": {"units": u, "layers": n}} for u in (128, 256) for n in (1, 2)]
    returns = {"units128_layers1": {10: [1.0, 3.0], 20: [4.0, 6.0]},  # best mean 5
               "units128_layers2": {10: [10.0, 0.0], 20: [2.0, 2.0]},  # best mean 5, not 10
               "units256_layers1": None}  # units256_layers2 has no folder at all
    d = _grid(tmp_path / "grid", axes, points, returns)
    out = tmp_path / "out"
    assert report_main([d, f"--out={out}"]) == 0
    heat = json.load(open(out / "heatmap_g2.json"))
    assert heat["axes"] == axes
    assert heat["best"] == [[5.0, 5.0], [None, None]]  # [units][layers]
    assert (out / "heatmap_g2.png").stat().st_size > 1000
    assert not (out / "curves.png").exists()


def test_grid_with_one_or_three_axes(tmp_path):
    one = _grid(tmp_path / "one", {"agent.actor_lr": [0.0001, 0.0003]},
                [{"name": f"lr{i}", "values": {"agent.actor_lr": v}} for i, v in enumerate((0.0001, 0.0003))],
                {"lr0": {10: [1.0]}, "lr1": {10: [2.0]}})
    axes = {"units": [8, 16], "layers": [1], "agent.actor_lr": [0.1, 0.2]}
    points = [{"name": f"p{u}_{lr}", "values": {"units": u, "layers": 1, "agent.actor_lr": lr}}
              for u in (8, 16) for lr in (0.1, 0.2)]
    three = _grid(tmp_path / "three", axes, points, {"p8_0.1": {10: [1.0]}, "p8_0.2": {10: [7.0]}, "p16_0.1": {10: [3.0]}})
    out = tmp_path / "out"
    assert report_main([one, three, f"--out={out}"]) == 0
    assert json.load(open(out / "heatmap_g1.json"))["best"] == [1.0, 2.0]
    heat = json.load(open(out / "heatmap_g3.json"))
    assert heat["shown"] == [[7.0], [3.0]] and heat["maximised_over"] == ["agent.actor_lr"]
    assert (out / "heatmap_g3.png").exists()


def test_bad_arguments_exit_with_a_message(tmp_path, capsys):
    a = _run(tmp_path / "a", "pendulum_sac", {1000: [1.0]})
    with pytest.raises(SystemExit) as e:
        report_main([a, f"--out={tmp_path / 'o'}", "--labels=x,y"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        report_main([a, f"--out={tmp_path / 'o'}", "--methods=best"])
    assert "unknown best" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report_main([str(tmp_path / "missing"), f"--out={tmp_path / 'o'}"])


def _crash_extra(carried: bool) -> dict:
    """Seed 1 crashes at env step 1500: its records at 2000 and 3000 as the runner writes them
    (carrying its evaluation of 1000) or, carried=False, as run folders written before it did."""
    out = {}
    for step in (2000, 3000):
        rec = {"diverged": True, "diverged_at_env_steps": 1500, "first_nonfinite": "critic_loss"}
        rec.update({"eval_carried": True, "eval_carried_from_env_steps": 1000} if carried
                   else {"eval_return": None, "eval_return_std": None})
        out[(step, 1)] = rec
    return out


@pytest.mark.parametrize("carried", [True, False], ids=["runner-carried", "older-folder"])
def test_crashed_seeds_count_with_their_last_score_and_the_count_is_shown(tmp_path, capsys, carried):
    """Bjorck et al.: 'If learning crashes ..., we report the performance before the crash'."""
    returns = {1000: [10.0, 20.0], 2000: [30.0, 20.0], 3000: [50.0, 20.0]}  # seed 1: 20 carried
    run = _run(tmp_path / "ours", "ant_sac_small_ours", returns, [("total_env_steps", "3000")], _crash_extra(carried))
    out = tmp_path / "out"
    assert report_main([run, f"--out={out}", "--x=env_steps", "--labels=A", "--window-from=2000"]) == 0
    printed = capsys.readouterr().out
    curves = json.load(open(out / "curves.json"))
    np.testing.assert_allclose(curves["A"]["mean"], [15.0, 25.0, 35.0])  # the crashed seed still counts
    assert curves["A"]["diverged"] == [0, 1, 1]
    assert curves["A"]["window"]["per_seed"] == [40.0, 20.0] and curves["A"]["window"]["diverged"] == 1
    assert "1 diverged: last score before the crash" in printed
    _, rows = _table((out / "table1.md").read_text())
    assert rows["ant"][0] == "**35.0 (1/2 diverged)**"
    # the switch: survivors only, the crashed seed left out after its crash
    out2 = tmp_path / "out2"
    assert report_main([run, f"--out={out2}", "--x=env_steps", "--labels=A", "--survivors-only"]) == 0
    curves = json.load(open(out2 / "curves.json"))
    np.testing.assert_allclose(curves["A"]["mean"], [15.0, 30.0, 50.0])
    assert "1 diverged: left out after the crash" in capsys.readouterr().out
    _, rows = _table((out2 / "table1.md").read_text())
    assert rows["ant"][0] == "**50.0 (1/2 diverged)**"


def test_time_to_return_and_curves_against_wall_time(tmp_path, capsys):
    a = _run(tmp_path / "a", "pendulum_sac", {1000: [-900.0, -800.0], 2000: [-300.0, -700.0], 3000: [-200.0, -150.0]},
             [("total_env_steps", "3000")],
             extra={(s, seed): {"wall_time_s": w} for s, w in ((1000, 10.0), (2000, 25.0), (3000, 40.0)) for seed in (0, 1)})
    out = tmp_path / "out"
    assert report_main([a, f"--out={out}", "--x=wall_time_s", "--labels=A", "--time-to=-500,-250,-100"]) == 0
    assert json.load(open(out / "curves.json"))["A"]["x"] == [10.0, 25.0, 40.0]
    rows = {r["threshold"]: r for r in json.load(open(out / "time_to_return.json"))["A"]}
    # mean -850, -500, -175: -500 is reached at 2000 env steps (25 s); -250 at 3000 (40 s); -100 never
    assert (rows[-500]["mean_env_steps"], rows[-500]["mean_wall_s"], rows[-500]["mean_grad_steps"]) == (2000, 25.0, 1900)
    assert rows[-500]["seed_wall_s"] == [25.0, 40.0] and rows[-500]["median_seed_wall_s"] == 32.5
    assert rows[-250]["mean_wall_s"] == 40.0 and rows[-100]["mean_wall_s"] is None and rows[-100]["seeds_reached"] == 0
    md = (out / "time_to_return.md").read_text()
    assert "| A | -100 | not reached |" in md and "| 2/2 |" in md
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:
        report_main([a, f"--out={out}", "--time-to=fast"])
    assert bad.value.code == 2 and capsys.readouterr().err.strip().startswith("error: --time-to='fast' must be")
