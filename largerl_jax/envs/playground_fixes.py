"""Compatibility shims for MuJoCo Playground 0.2.0 on the MuJoCo versions we pin.

Playground's Reacher picks between ``MjSpec.body`` and the older ``MjSpec.find_body`` by
comparing version *strings*: ``"3.17.0" >= "3.3.0"`` is False, so on MuJoCo 3.10-3.29 it calls
``find_body``, which those releases no longer have, and ReacherEasy/ReacherHard fail to build.
MuJoCo 4.x compares the right way round and needs nothing. The shim gives ``MjSpec`` a
``find_body`` that forwards to ``body`` (same lookup by name) only when Playground would call it
and it is missing, so it is a no-op wherever Reacher already builds.
"""
from __future__ import annotations

import mujoco


def _playground_calls_find_body() -> bool:
    # the very comparison Playground's reacher makes, reproduced to know when it misfires
    return mujoco.__version__ < "3.3.0"


def ensure_reacher_builds() -> bool:
    """Adds the forwarding ``MjSpec.find_body`` when needed; returns whether it did. Idempotent."""
    if not _playground_calls_find_body() or hasattr(mujoco.MjSpec, "find_body"):
        return False
    mujoco.MjSpec.find_body = _find_body
    return True


def _find_body(spec, name: str):
    return spec.body(name)
