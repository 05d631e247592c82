"""benchmarks.crossq_vs_sbx: the sbx side is set to our CrossQ configs at sbx's critic width, and
bad input is refused before anything runs (the rounds are sbx_side_by_side's, tested with
benchmarks.simba_vs_sbx)."""
from __future__ import annotations

from runpy import run_path

import pytest

from benchmarks import crossq_vs_sbx as bench
from experiments.configs import get_config

RUNNER = run_path(str(bench.RUNNER))  # its top level imports the standard library only


@pytest.mark.parametrize("task", list(bench.GYM_NAMES))
def test_the_sbx_runner_is_set_to_our_config_at_its_critic_width(task):
    cfg = get_config(bench.config_name(task))
    a = cfg.agent
    assert bench.METHOD.overrides == ("--config.agent.critic.width=1024",) and a.critic.width == 2048
    assert cfg.env.name == bench.GYM_NAMES[task] and cfg.env.num_envs == 1 and cfg.updates_per_iteration == 1
    assert RUNNER["ACTOR_WIDTHS"] == [a.actor.width] * a.actor.depth and a.num_q == 2
    assert RUNNER["CRITIC_WIDTHS"] == [1024] * a.critic.depth and a.critic.batch_renorm and a.actor.batch_renorm
    assert RUNNER["LR"] == a.actor_lr == a.critic_lr == a.alpha_lr and RUNNER["ADAM_B1"] == a.adam_b1
    assert RUNNER["POLICY_DELAY"] == a.actor_update_every and RUNNER["BATCH"] == a.batch_size
    assert RUNNER["GAMMA"] == a.gamma and a.init_temperature == 1.0 and a.target_entropy_coef == -1.0
    assert cfg.warmup_env_steps == 5000 and not a.obs_norm.enabled


def test_bad_input_is_one_line_before_anything_runs(capsys, tmp_path):
    out = tmp_path / "r.json"
    assert bench.main(["--tasks=hopper", f"--out={out}", f"--venv={tmp_path / 'no-venv'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "each must be one of halfcheetah, ant" in err[0] and not out.exists()
