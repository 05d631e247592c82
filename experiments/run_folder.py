"""The config of a finished (or interrupted) run folder, for the tools that read a run after the
fact (experiments.video, experiments.export): see ``largerl_jax.training.run_folder``."""
from largerl_jax.training.run_folder import saved_config

__all__ = ["saved_config"]
