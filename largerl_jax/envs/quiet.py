"""Third-party start-up chatter that says nothing to our users, filtered; everything else passes.

Building a Brax/MJX task prints "Failed to import warp" and "Failed to import mujoco_warp" (MJX
probing for its optional Warp backend, which we never use: we run ``impl='jax'``) and warns that
Brax's own pipelines are unmaintained (we use its MJX pipeline and its env definitions).
"""
from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings

_STDOUT_NOISE = re.compile(r"^Failed to import (mujoco_)?warp: ")
_WARNING_NOISE = r"Brax System, piplines and environments are not actively being maintained"


@contextlib.contextmanager
def third_party_noise_filtered():
    captured = io.StringIO()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_WARNING_NOISE, category=UserWarning)
            with contextlib.redirect_stdout(captured):
                yield
    finally:
        kept = [line for line in captured.getvalue().splitlines() if not _STDOUT_NOISE.match(line)]
        if kept:
            sys.stdout.write("\n".join(kept) + "\n")
