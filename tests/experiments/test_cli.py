import json
import os
import subprocess
import sys

import pytest

from experiments.configs import get_config, list_configs
from experiments.overrides import apply_override
from largerl_jax.training import validate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_required_configs_exist_and_validate():
    names = list_configs()
    for required in ("pendulum_sac", "pendulum_td3", "ant_sac", "ant_td3", "gym_ant_sac"):
        assert required in names
    for name in names:
        cfg = get_config(name)
        assert cfg.name == name
        validate(cfg)
    assert get_config("gym_ant_sac").env.name == "Ant-v4"
    assert get_config("ant_td3").warmup_env_steps == 100_000
    assert get_config("humanoid_sac_v1").agent.reward_scale == 20.0


def test_fast_configs_are_the_many_envs_few_updates_regime():
    cfg = get_config("ant_sac_fast")
    assert cfg.env.name == "ant" and cfg.agent.name == "sac"
    assert cfg.env.num_envs == 1024 and cfg.updates_per_iteration == 2 and cfg.agent.batch_size == 8192
    assert cfg.replay_capacity // cfg.env.num_envs == 1000  # rows per env ring
    assert cfg.updates_per_iteration / cfg.env.num_envs < 0.01  # update-to-data ratio
    assert "gym_ant_sac_fast" not in list_configs()  # host envs cannot feed 1024 envs


def test_configs_are_fresh_objects():
    a = get_config("ant_sac")
    a.agent.gamma = 0.5
    assert get_config("ant_sac").agent.gamma == 0.99


def test_overrides_type_check_and_list_keys():
    cfg = get_config("pendulum_sac")
    apply_override(cfg, "agent.critic.arch", "densenet")
    apply_override(cfg, "agent.actor_lr", "1e-3")
    apply_override(cfg, "agent.critic_lr", "1")  # int literal into a float field
    apply_override(cfg, "env.backend", "generalized")
    apply_override(cfg, "agent.learn_temperature", "false")
    assert cfg.agent.critic.arch == "densenet" and cfg.agent.actor_lr == 1e-3
    assert cfg.agent.critic_lr == 1.0 and cfg.env.backend == "generalized" and not cfg.agent.learn_temperature
    with pytest.raises(ValueError, match="keys under 'agent'.*batch_size"):
        apply_override(cfg, "agent.batchsize", "3")
    with pytest.raises(ValueError, match="bad value"):
        apply_override(cfg, "total_env_steps", "lots")
    with pytest.raises(ValueError, match="is a group"):
        apply_override(cfg, "agent", "3")
    apply_override(cfg, "agent.critic.arch", "transformer")
    with pytest.raises(ValueError, match="agent.critic: .*arch"):
        validate(cfg)
    cfg = get_config("pendulum_sac")
    apply_override(cfg, "agent.critic_loss", "l1")
    with pytest.raises(ValueError, match="critic_loss"):
        validate(cfg)


def test_run_rejects_unknown_config_and_bad_override():
    out = _cli("experiments.run", "--config=ant_sak")
    assert out.returncode == 2
    assert "unknown config 'ant_sak'" in out.stderr and "Did you mean ant_sac" in out.stderr
    assert "--list-configs" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    listed = _cli("experiments.run", "--list-configs")
    assert listed.returncode == 0 and {"pendulum_td3", "ant_sac_ofe", "dmc_cheetah_run_modern4_sn"} <= set(listed.stdout.split())
    out = _cli("experiments.run", "--config=pendulum_sac", "--config.agent.nope=1")
    assert out.returncode == 2 and "keys under 'agent'" in out.stderr
    out = _cli("experiments.run", "--config=pendulum_sac", "--config.total_env_steps=1001")
    assert out.returncode == 2 and "multiple of env.num_envs" in out.stderr
    out = _cli("experiments.run", "--config=pendulum_sac", "--config.agent.actor.activation=tanh")
    assert out.returncode == 2 and "activation" in out.stderr and "swish" in out.stderr
    out = _cli("experiments.run", "--config=pendulum_sac", "--config.env.name=CartPole-v1")
    assert out.returncode == 2 and "Ant-v4" in out.stderr and "pendulum" in out.stderr


def test_run_end_to_end_with_progress_and_resume(tmp_path):
    workdir = str(tmp_path / "run")
    small = [
        "--config=pendulum_sac",
        "--config.agent.actor.width=16",
        "--config.agent.critic.width=16",
        "--config.agent.batch_size=64",
        "--config.total_env_steps=800",
        "--config.warmup_env_steps=400",
        "--config.log_every_env_steps=400",
        "--config.eval_every_env_steps=400",
        "--config.checkpoint_every_env_steps=400",
        "--config.env.eval_episodes=2",
        "--seeds=2",
        f"--workdir={workdir}",
    ]
    out = _cli("experiments.run", *small)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "env/s" in out.stderr and "grad/s" in out.stderr and "ETA" in out.stderr
    assert "seed 1: env_steps 800" in out.stdout
    lines = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert [(r["seed"], r["env_steps"]) for r in lines] == [(0, 400), (1, 400), (0, 800), (1, 800)]
    assert json.load(open(os.path.join(workdir, "config.json")))["total_env_steps"] == 800
    assert os.listdir(os.path.join(workdir, "checkpoints"))
    again = _cli("experiments.run", *small)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = _cli("experiments.run", *small, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]


def test_inspect_json_tables():
    out = _cli("experiments.inspect", "--config=gym_ant_sac", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    tables = json.loads(out.stdout)
    assert tables["obs_dim"] == 111 and tables["act_dim"] == 8
    actor = tables["networks"]["actor"]
    assert [(l["in"], l["out"], l["params"]) for l in actor["layers"]] == [
        (111, 256, 28_672),
        (256, 256, 65_792),
        (256, 16, 4_112),
    ]
    assert actor["params"] == 28_672 + 65_792 + 4_112
    critic = tables["networks"]["critic"]
    assert critic["layers"][0]["in"] == 119 and critic["layers"][0]["ensemble"] == 2
    assert critic["params"] == 2 * sum(l["params"] for l in critic["layers"])
    assert "convention" in tables
    wide = _cli(
        "experiments.inspect",
        "--config=gym_ant_sac",
        "--config.agent.actor.arch=densenet",
        "--config.agent.actor.width=2048",
        "--json",
    )
    layers = json.loads(wide.stdout)["networks"]["actor"]["layers"]
    assert [(l["in"], l["params"]) for l in layers[:2]] == [(111, 111 * 2048 + 2048), (2159, 4_423_680)]


def test_inspect_reproduces_ota_table_2():
    out = _cli("experiments.inspect", "--config=gym_ant_sac_ours", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    tables = json.loads(out.stdout)
    assert "4 numbers per unit" in tables["convention"]
    ofe = tables["networks"]["ofenet"]
    z_s = [l for l in ofe["layers"] if l["name"].startswith("phi_s/")]
    assert [l["in"] for l in z_s] == [111, 367, 623, 879, 1135, 1391, 1647, 1903]
    assert [l["params"] for l in z_s] == [29_696, 95_232, 160_768, 226_304, 291_840, 357_376, 422_912, 488_448]
    assert ofe["blocks"]["phi_s"] == 2_072_576
    actor = tables["networks"]["actor"]["layers"]
    assert [(l["in"], l["out"], l["params"]) for l in actor[:2]] == [(2159, 2048, 4_423_680), (4207, 2048, 8_617_984)]
    trainable = json.loads(
        _cli("experiments.inspect", "--config=gym_ant_sac_ours", "--json", "--trainable-only").stdout
    )
    assert trainable["networks"]["ofenet"]["blocks"]["phi_s"] == 2_072_576 - 8 * 2 * 256


def test_paper_config_families():
    ours = get_config("ant_sac_ours")
    assert get_config("ant_sac_ofe").to_dict() | {"name": None} == ours.to_dict() | {"name": None}
    assert ours.agent.name == "sac_v1" and ours.agent.features == "ofenet"
    assert (ours.agent.actor.arch, ours.agent.actor.width, ours.agent.actor.activation) == ("densenet", 2048, "swish")
    assert ours.agent.critic_loss == "huber" and ours.env.num_envs == 64 and not ours.agent.critic.batch_norm
    assert get_config("ant_td3_ours").agent.critic.batch_norm  # TD3 "Ours" uses batch norm (A.1)
    ofenet = get_config("hopper_sac_ofenet")
    assert ofenet.agent.features == "ofenet" and ofenet.agent.actor.arch == "mlp" and ofenet.env.num_envs == 1
    assert get_config("walker2d_td3_original").agent.features == "raw"
    assert get_config("gym_ant_sac_ours").agent.ofenet.predict_dims == 27
    assert get_config("ant_sac_ablation_no_ofe").agent.features == "raw"
    assert get_config("ant_sac_ablation_no_apex").env.num_envs == 1
    assert get_config("ant_sac_ablation_no_large").agent.actor.width == 256
    assert get_config("ant_sac_ablation_no_dense").agent.critic.arch == "mlp"
    assert get_config("humanoid_sac_act_relu").agent.actor.activation == "relu"
    assert get_config("ant_sac_arch_d2rl_128").agent.critic.arch == "d2rl"


def test_reduced_scale_check_compares_equal_gradient_steps_and_width():
    def grad_steps(cfg):
        return (cfg.total_env_steps - cfg.warmup_env_steps) // cfg.env.num_envs * cfg.updates_per_iteration

    original, ours = get_config("ant_sac_small_original"), get_config("ant_sac_small_ours")
    no_apex = get_config("ant_sac_small_no_apex")
    assert grad_steps(original) == grad_steps(ours) == grad_steps(no_apex) == 60_000
    assert no_apex.env.num_envs == 1 and not no_apex.prioritized_replay.enabled
    assert no_apex.agent.to_dict() == ours.agent.to_dict()
    assert ours.env.num_envs == 8 and original.env.num_envs == 1
    for net in ("actor", "critic", "value"):
        assert original.agent[net].width == ours.agent[net].width == 256
    assert (original.agent.features, ours.agent.features) == ("raw", "ofenet")
    assert ours.prioritized_replay.enabled and not original.prioritized_replay.enabled


def test_plot_averages_seeds(tmp_path):
    for name, offset in (("a", 0.0), ("b", 10.0)):
        d = tmp_path / name
        d.mkdir()
        with open(d / "metrics.jsonl", "w") as f:
            for env_steps, grad_steps in ((50, 0), (100, 0), (200, 100), (300, 200)):  # two warm-up evals
                for seed, ret in ((0, 1.0), (1, 3.0)):
                    rec = {"seed": seed, "grad_steps": grad_steps, "env_steps": env_steps, "eval_return": ret + offset + env_steps}
                    f.write(json.dumps(rec) + "\n")
    out = tmp_path / "curves.png"
    res = _cli("experiments.plot", str(tmp_path / "a"), str(tmp_path / "b"), f"--out={out}", "--labels=A,B")
    assert res.returncode == 0, res.stderr
    summary = json.load(open(tmp_path / "curves.json"))
    assert summary["A"]["x"] == [0, 100, 200]
    assert summary["A"]["mean"] == [102.0, 202.0, 302.0] and summary["B"]["std"] == [1.0, 1.0, 1.0]
    assert out.stat().st_size > 1000
    res = _cli("experiments.plot", str(tmp_path / "a"), f"--out={out}", "--window-from=100")
    window = json.load(open(tmp_path / "curves.json"))["a"]["window"]
    assert window["evaluations"] == 2 and window["per_seed"] == [251.0, 253.0] and window["mean"] == 252.0
    assert "252.0 +- 1.0" in res.stdout
    late = _cli("experiments.plot", str(tmp_path / "a"), f"--out={out}", "--window-from=999")
    assert late.returncode == 2 and "no evaluation at x >= 999" in late.stderr
    bad = _cli("experiments.plot", str(tmp_path / "missing"), f"--out={out}")
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_plot_other_metrics_and_globs(tmp_path):
    from experiments.plot import main as plot_main

    d = tmp_path / "run"
    d.mkdir()
    with open(d / "metrics.jsonl", "w") as f:
        f.write(json.dumps({"seed": 0, "grad_steps": 0, "env_steps": 50, "eval_return": 1.0}) + "\n")  # warm-up
        for env_steps in (100, 200):
            for seed in (0, 1):
                rec = {"seed": seed, "grad_steps": env_steps, "env_steps": env_steps, "eval_return": 0.0,
                       "actor_grad_norm": env_steps / 100 + seed, "gates/phi_s/0/alive": 8.0 - seed,
                       "gates/phi_s/1/alive": 4.0}
                f.write(json.dumps(rec) + "\n")
    out = tmp_path / "m.png"
    assert plot_main([str(d), f"--out={out}", "--metric=actor_grad_norm", "--log-y"]) == 0
    curves = json.load(open(tmp_path / "m.json"))
    assert curves["run"]["x"] == [100, 200] and curves["run"]["mean"] == [1.5, 2.5]
    assert plot_main([str(d), f"--out={out}", "--metric=gates/phi_s/*/alive"]) == 0
    curves = json.load(open(tmp_path / "m.json"))
    assert set(curves) == {"gates/phi_s/0/alive", "gates/phi_s/1/alive"}
    assert curves["gates/phi_s/0/alive"]["mean"] == [7.5, 7.5]
    with pytest.raises(SystemExit):
        plot_main([str(d), f"--out={out}", "--metric=critic_loss"])


def test_fig4_grid_expands_with_overrides():
    from experiments.configs import grid_points, is_grid

    assert is_grid("ant_sac_grid_fig4") and "ant_sac_grid_fig4" in list_configs()
    base = get_config("ant_sac_grid_fig4")
    apply_override(base, "total_env_steps", "50000")
    points = grid_points("ant_sac_grid_fig4", base)
    assert len(points) == 25
    shapes = {(p.cfg.agent.actor.width, p.cfg.agent.critic.depth, p.cfg.agent.value.width) for p in points}
    assert (2048, 16, 2048) in shapes and (128, 1, 128) in shapes and len(shapes) == 25
    assert all(p.cfg.total_env_steps == 50000 for p in points)
    assert points[0].name == "units128_layers1" and points[0].values == {"units": 128, "layers": 1}


def test_run_refuses_a_grid_and_names_the_grid_command(capsys):
    from experiments import run as run_cli

    assert run_cli.main(["--config=ant_sac_grid_fig4", "--no-progress"]) == 2
    assert "python -m experiments.grid --config=ant_sac_grid_fig4" in capsys.readouterr().err
