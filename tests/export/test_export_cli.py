"""experiments.export end to end: a real tiny run folder becomes a policy file whose NumPy
actions are the checkpointed agent's; bad input is one ``error:`` line and exit code 2."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import export
from experiments import run as run_cli
from largerl_jax.training.run_folder import open_run
from largerl_jax.export import FORMAT_VERSION, load_policy

TINY = [
    "--config=pendulum_sac", "--no-progress",
    "--config.agent.actor.width=16", "--config.agent.critic.width=16", "--config.agent.batch_size=32",
    "--config.total_env_steps=400", "--config.warmup_env_steps=200", "--config.replay_capacity=400",
    "--config.log_every_env_steps=200", "--config.eval_every_env_steps=400", "--config.env.eval_episodes=1",
    "--config.checkpoint_every_env_steps=400",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("export") / "run")
    assert run_cli.main([*TINY, "--seeds=2", f"--workdir={workdir}"]) == 0
    return workdir


def test_exported_policy_acts_as_the_checkpointed_agent(finished_run, tmp_path, capsys):
    out = str(tmp_path / "pendulum.npz")
    assert export.main([f"--workdir={finished_run}", f"--out={out}", "--seed-index=1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{out}: sac policy of seed 1 (index 1) at env step 400")

    policy = load_policy(out)
    assert policy.format_version == FORMAT_VERSION
    assert (policy.config_name, policy.agent, policy.obs_shape, policy.obs_dtype, policy.act_dim) == (
        "pendulum_sac", "sac", (3,), "float32", 1)
    assert policy.info["seed"] == 1 and policy.info["env_steps"] == 400

    run = open_run(finished_run)
    restored = run.restore(1)
    obs = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32) * 3
    expected = restored.agent.act(restored.state, jnp.asarray(obs), jax.random.PRNGKey(0), True)
    np.testing.assert_allclose(policy(obs), np.asarray(expected), atol=1e-5, rtol=0)
    other = run.restore(0)  # the seeds differ, so index 1 was taken
    assert np.abs(np.asarray(other.agent.act(other.state, jnp.asarray(obs), jax.random.PRNGKey(0), True))
                  - policy(obs)).max() > 1e-3


def test_open_run_reads_config_seeds_and_newest_checkpoint(finished_run, tmp_path):
    run = open_run(finished_run)
    assert (run.cfg.name, run.num_seeds, run.seeds) == ("pendulum_sac", 2, [0, 1])
    assert run.cfg.agent.actor.width == 16 and run.newest_step() == 400
    assert run.seed_index(None) in (0, 1) and run.seed_index(1) == 1
    with pytest.raises(ValueError, match="seed index 2 out of range: the run has 2 seed"):
        run.restore(2)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        open_run(str(tmp_path))


def test_default_out_is_policy_npz_in_the_run_folder(finished_run, capsys):
    assert export.main([f"--workdir={finished_run}"]) == 0
    assert os.path.exists(os.path.join(finished_run, "policy.npz"))
    assert "policy.npz: sac policy of seed" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--workdir={missing}"], "no config.json"),
    (["--workdir={run}", "--seed-index=2"], "seed index 2 out of range"),
    (["--workdir={run}", "--out={missing}/policy.npz"], "does not exist"),
])
def test_bad_input_is_one_error_line_and_exit_2(finished_run, tmp_path, capsys, argv, message):
    argv = [a.format(missing=str(tmp_path / "nowhere"), run=finished_run) for a in argv]
    assert export.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1 and message in captured.err
    assert captured.out == ""
