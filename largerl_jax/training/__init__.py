from largerl_jax.training.config import run_config, validate
from largerl_jax.training.learner import Learner
from largerl_jax.training.loop import DeviceLoop, SeedBatchedDeviceLoop
from largerl_jax.training.runner import DivergenceError, make_driver, plan_segments, run, run_points
from largerl_jax.training.state import TrainState
from largerl_jax.training.run_files.wandb_log import WandbSettings
from largerl_jax.training.run_files.workdir import DiskFullError

__all__ = [
    "DeviceLoop",
    "DiskFullError",
    "DivergenceError",
    "Learner",
    "SeedBatchedDeviceLoop",
    "TrainState",
    "WandbSettings",
    "make_driver",
    "plan_segments",
    "run",
    "run_config",
    "run_points",
    "validate",
]
