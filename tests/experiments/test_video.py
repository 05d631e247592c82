"""experiments.video: a finished run's deterministic policy rendered to a video file whose
frames are pictures (not blank) that move, and MuJoCo-based envs rendered through the same
offscreen renderer."""
import json
import os
import shutil

import imageio.v3 as iio
import mujoco
import numpy as np
import pytest

from experiments import run as run_cli
from experiments import video
from experiments.configs import get_config, grid_points
from largerl_jax.training.run_folder import saved_config
from largerl_jax import render
from largerl_jax.envs import make_env
from largerl_jax.training.run_files import metrics_io
from largerl_jax.training.restore import best_seed_index

TINY = [
    "--config=pendulum_sac", "--no-progress",
    "--config.agent.actor.width=16", "--config.agent.critic.width=16", "--config.agent.batch_size=64",
    "--config.total_env_steps=800", "--config.warmup_env_steps=400", "--config.replay_capacity=1000",
    "--config.log_every_env_steps=400", "--config.eval_every_env_steps=400", "--config.env.eval_episodes=2",
    "--config.checkpoint_every_env_steps=800",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("video") / "run")
    assert run_cli.main([*TINY, "--seeds=2", f"--workdir={workdir}"]) == 0
    return workdir


def test_pendulum_policy_video_moves_and_reports_its_return(finished_run, tmp_path, capsys):
    out = str(tmp_path / "x.gif")
    argv = [f"--workdir={finished_run}", f"--out={out}", "--max-steps=10", "--episodes=2", "--width=96", "--height=80"]
    assert video.main(argv) == 0
    printed = capsys.readouterr().out
    assert out in printed and "2 episode(s), return -" in printed  # Pendulum's rewards are costs
    frames = iio.imread(out, index=None)
    # per episode 10 states acted in and the one the cut left, less repeats the GIF writer merged
    assert 2 <= len(frames) <= 22 and frames.shape[1:] == (80, 96, 3)
    assert all(frame.std() > 0 for frame in frames)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 0.5


def test_default_seed_is_the_best_final_evaluation(tmp_path):
    records = [
        {"seed": 0, "env_steps": 400, "eval_return": -100.0},
        {"seed": 1, "env_steps": 400, "eval_return": -900.0},
        {"seed": 2, "env_steps": 400, "eval_return": -500.0},
        {"seed": 0, "env_steps": 800, "eval_return": None, "diverged": True},
        {"seed": 1, "env_steps": 800, "eval_return": -700.0},
        {"seed": 2, "env_steps": 800, "eval_return": -300.0},
    ]
    metrics_io.write(str(tmp_path / "metrics.jsonl"), records)
    assert best_seed_index(str(tmp_path), [0, 1, 2]) == 2


def test_saved_config_is_rebuilt_exactly(tmp_path):
    base = get_config("ant_sac_grid_fig4")
    point = grid_points("ant_sac_grid_fig4", base)[-1].cfg  # named GRID/POINT, widths differ from the base
    point.env.backend = "generalized"  # a FieldReference
    saved = json.loads(point.to_json_best_effort())
    with open(tmp_path / "config.json", "w") as f:
        json.dump({**saved, "_num_seeds": 3, "_package_version": "0.1.0"}, f)
    cfg, num_seeds = saved_config(str(tmp_path))
    assert num_seeds == 3
    assert json.loads(cfg.to_json_best_effort()) == saved


def test_bad_folder_and_missing_mp4_backend_are_one_line_errors(finished_run, tmp_path, capsys, monkeypatch):
    assert video.main([f"--workdir={tmp_path}"]) == 2
    assert "no config.json" in capsys.readouterr().err
    monkeypatch.setattr(render.video_file, "can_write_mp4", lambda: False)
    assert video.main([f"--workdir={finished_run}", f"--out={tmp_path / 'x.mp4'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install imageio-ffmpeg" in err
    assert not os.path.exists(tmp_path / "x.mp4")


def test_checkpoint_of_another_layout_is_a_one_line_error(finished_run, tmp_path, capsys):
    workdir = str(tmp_path / "copy")
    shutil.copytree(finished_run, workdir)
    with open(os.path.join(workdir, "config.json")) as f:
        saved = json.load(f)
    saved["agent"]["actor"]["width"] = 32  # the checkpoints hold width 16
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump(saved, f)
    assert video.main([f"--workdir={workdir}", f"--out={tmp_path / 'x.gif'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not load" in err


def test_mujoco_env_frame_is_not_blank():
    env = make_env("Hopper-v4", 1)
    try:
        env.reset(0)
        view = render.view_for(env, 64, 48)
        frame = view.frame(None, None)
        view.close()
    finally:
        env.close()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert frame.std() > 5


def test_unknown_camera_names_the_cameras():
    model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><camera name="side"/></worldbody></mujoco>')
    with pytest.raises(ValueError, match="cameras: side"):
        render.MujocoCamera(model, 32, 32, camera="front")


def test_no_opengl_is_one_line_with_the_fix(monkeypatch):
    def no_egl(_backend):
        raise OSError("libEGL.so.1: cannot open shared object file")

    monkeypatch.setenv("MUJOCO_GL", "egl")
    monkeypatch.setattr(render.mujoco_camera, "_context_class", no_egl)
    model = mujoco.MjModel.from_xml_string("<mujoco/>")
    with pytest.raises(render.RenderUnavailable) as info:
        render.MujocoCamera(model, 32, 32)
    message = str(info.value)
    assert "\n" not in message and "libEGL.so.1" in message and "apt-get install libegl1" in message
