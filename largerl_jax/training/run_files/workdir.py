"""A run folder's checks before any compute: it can be written, a new run does not overwrite an
old one, and a resume continues the same experiment (config, seed count, package version).
Every refusal is one line that says what to do."""
from __future__ import annotations

import errno
import importlib.metadata
import json
import os
import uuid

from largerl_jax.training.run_files import provenance
CONFIG_FILE = "config.json"
# Written into config.json beside the config; not part of the experiment's identity.
META_KEYS = ("_num_seeds", "_package_version")


def package_version() -> str:
    try:
        return importlib.metadata.version("largerl-jax")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class DiskFullError(OSError):
    """The disk filled while the run was writing; the last complete checkpoint is intact."""


def is_disk_full(error: BaseException | None) -> bool:
    """True if ``error`` or anything in its cause chain is 'no space left' (or a full quota):
    libraries such as Orbax wrap the OSError in their own exceptions."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ or error.__context__
    return False


def _check_writable(workdir: str) -> None:
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, f".write-probe-{uuid.uuid4().hex}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise ValueError(f"cannot write to --workdir {workdir!r}: {e.strerror or e}; pick a writable directory") from None


def prepare(workdir: str, config_json: dict, num_seeds: int, resume: bool, matmul_precision: str) -> None:
    """Creates or checks ``workdir`` for a run of ``config_json`` (the config as JSON data)."""
    _check_writable(workdir)
    config_path = os.path.join(workdir, CONFIG_FILE)
    has_run = os.path.exists(config_path)
    if has_run and not resume:
        raise FileExistsError(f"{workdir} already holds a run; pass --resume to continue it or pick another --workdir")
    if resume and not has_run:
        raise FileNotFoundError(f"--resume given but {workdir} holds no run (no {CONFIG_FILE})")
    if resume:
        with open(config_path) as f:
            saved = json.load(f)
        if saved.get("_num_seeds") not in (None, num_seeds):
            raise ValueError(f"{workdir} was started with {saved['_num_seeds']} seeds, not {num_seeds}")
        written_by = saved.get("_package_version")
        if written_by not in (None, package_version()):
            raise ValueError(
                f"{workdir} was written by largerl-jax {written_by}, this is {package_version()}: its checkpoints "
                f"may not match this code's train state; resume with largerl-jax {written_by} or start a new run"
            )
        if config_json != {k: v for k, v in saved.items() if k not in META_KEYS}:
            raise ValueError(f"config differs from the one saved in {config_path}; resume with the same config")
    else:
        payload = {**config_json, "_num_seeds": num_seeds, "_package_version": package_version()}
        tmp = f"{config_path}.tmp-{uuid.uuid4().hex}"
        with open(tmp, "w") as f:  # a kill mid-write must not leave a torn config.json behind
            json.dump(payload, f, indent=2, sort_keys=True)
        os.replace(tmp, config_path)
    info = provenance.collect(matmul_precision)
    if resume:
        provenance.check_resume(workdir, info)
    else:
        provenance.write(workdir, info)
