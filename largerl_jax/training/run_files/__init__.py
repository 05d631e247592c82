"""What a run folder holds, written and read in one place: Orbax checkpoints of the whole train
state (checkpoint.py), ``metrics.jsonl`` (metrics_io.py), its TensorBoard and optional W&B views
(tensorboard.py, wandb_log.py), provenance and the run's config (provenance.py, workdir.py), the
progress line (progress.py), and one folder per grid point of a program (outputs.py). Reopening a
folder (config, seeds, newest complete checkpoint, restored agents) is ``training.run_folder``'s
``open_run``, which reads these.

No names are re-exported here: the training core imports these modules while it is itself being
imported, so this package stays a plain namespace."""
