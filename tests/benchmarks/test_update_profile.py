"""benchmarks.update_profile: one update timed, its FLOPs counted and its instructions' time
summed by network."""
from __future__ import annotations

import json

from benchmarks import update_profile


def test_tiny_sac_update_is_profiled_by_network(tmp_path, capsys):
    out = tmp_path / "p.json"
    assert update_profile.main(["--config=pendulum_sac", "--config.agent.actor.width=16",
                                "--config.agent.critic.width=16", "--config.agent.batch_size=32", "--updates=2",
                                f"--out={out}"]) == 0
    report = json.loads(out.read_text())
    assert report["flops_per_update"] > 0 and report["update_ms"] > 0 and report["update_ms_vmapped_one_seed"] > 0
    assert {"critic", "actor"} <= set(report["thread_ms"]) and report["thread_ms_total"] > 0
    assert report["command"].startswith("python -m benchmarks.update_profile --config=pendulum_sac")
    assert "--worker" not in report["command"] and report["obs_dim"] == 3 and report["act_dim"] == 1


def test_bad_input_is_one_line(capsys):
    assert update_profile.main(["--config=pendulum_sac", "--updates=0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --updates must be at least 1"
