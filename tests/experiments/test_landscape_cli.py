"""experiments.landscape end to end on a tiny finished run: three files whose grid passes through
the checkpointed critic's loss on its own stored transitions; bad input is one ``error:`` line
and exit code 2."""
import os

import jax
import numpy as np
import pytest

from experiments import landscape
from experiments import run as run_cli
from largerl_jax.training.run_folder import saved_config
from largerl_jax.training.restore import restore_agent_and_replay, stored_sample

TINY = [
    "--config=pendulum_sac", "--no-progress",
    "--config.agent.actor.width=16", "--config.agent.critic.width=16", "--config.agent.batch_size=32",
    "--config.total_env_steps=400", "--config.warmup_env_steps=200", "--config.replay_capacity=400",
    "--config.log_every_env_steps=200", "--config.eval_every_env_steps=400", "--config.env.eval_episodes=1",
    "--config.checkpoint_every_env_steps=400",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("landscape") / "run")
    assert run_cli.main([*TINY, "--seeds=2", f"--workdir={workdir}"]) == 0
    return workdir


def test_landscape_files_and_the_trained_loss_at_the_origin(finished_run, tmp_path, capsys):
    prefix = str(tmp_path / "ls")
    argv = [f"--workdir={finished_run}", f"--out={prefix}", "--seed-index=1", "--points=5", "--transitions=150"]
    assert landscape.main(argv) == 0
    assert "sac critic of seed 1 (index 1) at env step 400, 150 stored transitions, 5x5 grid" in capsys.readouterr().out
    for suffix in ("_contour.png", "_surface.png", ".npz"):
        assert os.path.getsize(prefix + suffix) > 0
    saved = np.load(prefix + ".npz")
    assert str(saved["config_name"]) == "pendulum_sac" and int(saved["seed"]) == 1
    assert saved["losses"].shape == (5, 5) and saved["alphas"].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert saved["losses"][2, 2] == pytest.approx(float(saved["origin_loss"]), rel=1e-6)
    assert np.all(np.isfinite(saved["losses"])) and len(np.unique(saved["losses"])) == 25

    # independently: the same transitions, targets frozen from the checkpoint (with the key the
    # CLI draws a single chunk's targets with), the unperturbed critic's eq. (2) averaged over
    # both members
    cfg, num_seeds = saved_config(finished_run)
    restored, replay = restore_agent_and_replay(cfg, finished_run, num_seeds, 1)
    batch = stored_sample(replay, 150, seed=0)
    key = jax.random.split(jax.random.split(jax.random.PRNGKey(0))[0], 1)[0]
    probe = jax.jit(restored.agent.critic_probe)(restored.state, batch, key)
    critic, variables = restored.agent.networks(restored.state)["critic"]
    q = np.asarray(jax.jit(critic.apply)(variables, batch.obs, batch.action), np.float64)
    trained = 0.5 * np.mean((q - np.asarray(probe.target, np.float64)) ** 2)
    assert float(saved["origin_loss"]) == pytest.approx(trained, rel=1e-5)


def test_stored_sample_takes_valid_rows_only(finished_run):
    cfg, num_seeds = saved_config(finished_run)
    _, replay = restore_agent_and_replay(cfg, finished_run, num_seeds, 0)
    everything = stored_sample(replay, 10_000)
    assert everything.reward.shape[0] == int(np.sum(np.asarray(replay.valid))) <= 400
    some = stored_sample(replay, 50, seed=3)
    assert some.obs.shape == (50, 3)
    rows = {tuple(r) for r in np.asarray(everything.obs)}
    assert all(tuple(r) in rows for r in np.asarray(some.obs))


@pytest.mark.parametrize("extra, expected", [
    (["--points=1"], "--points=1"),
    (["--span=0"], "--span=0.0"),
    (["--transitions=0"], "--transitions=0"),
    (["--seed-index=5"], "seed index 5 out of range"),
    (["--out=/nonexistent/folder/ls"], "does not exist"),
])
def test_bad_options(finished_run, extra, expected, capsys):
    assert landscape.main([f"--workdir={finished_run}", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and expected in err and len(err.strip().splitlines()) == 1


def test_bad_run_folders(finished_run, tmp_path, capsys):
    assert landscape.main([f"--workdir={tmp_path}"]) == 2
    assert "no config.json" in capsys.readouterr().err
    # a run folder without checkpoints
    (tmp_path / "config.json").write_text(open(os.path.join(finished_run, "config.json")).read())
    assert landscape.main([f"--workdir={tmp_path}"]) == 2
    assert "no checkpoints folder" in capsys.readouterr().err
