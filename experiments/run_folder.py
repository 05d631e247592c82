"""Run folders for the tools that read a run after the fact (experiments.video, export,
landscape): see ``largerl_jax.training.run_folder``."""
from largerl_jax.training.run_folder import RunFolder, open_run, saved_config

__all__ = ["RunFolder", "open_run", "saved_config"]
