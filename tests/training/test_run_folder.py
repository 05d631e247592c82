"""Run folders reopen from config.json alone: every registered experiment config survives the
round trip through the library's own run config (no experiment module needed)."""
import json

import pytest

from experiments.configs import get_config, list_configs
from largerl_jax.training.run_files.outputs import config_json
from largerl_jax.training.run_folder import config_from_saved, saved_config


def _run_configs():
    for name in list_configs():
        cfg = get_config(name)
        if "agent" in cfg and "env" in cfg:  # grids hold their base under another key
            yield name, cfg


def test_every_experiment_config_reopens_from_its_saved_values():
    names = 0
    for name, cfg in _run_configs():
        saved = json.loads(config_json(cfg))
        assert json.loads(config_json(config_from_saved(saved))) == saved, name
        names += 1
    assert names > 100


def test_a_folder_without_a_run_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        saved_config(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"seed": 0}))
    with pytest.raises(ValueError, match="not a run config"):
        saved_config(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"agent": {"name": "sac", "wat": 1}, "env": {"name": "pendulum"}}))
    with pytest.raises(ValueError, match="'agent.wat'"):
        saved_config(str(tmp_path))
