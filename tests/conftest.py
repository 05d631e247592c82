"""Suite-wide settings, applied here because this file is imported before any test module, so
before JAX reads its configuration; environment variables, so the CLI subprocesses that tests
start inherit them.

JAX's persistent compilation cache in a directory private to this test session (made by the
process pytest starts; its pytest-xdist workers inherit the variable, so one run shares one
cache; removed when the run ends): many tests build the same tiny programs
(the tiny Pendulum runs, a run and its resume), and on a 2-core CPU compiling them costs far more
than running them (a tiny SAC run: 20 s cold, 3.6 s from the cache, 2026-12-03). Nothing persists
between sessions, so every session still compiles every distinct program once. A user's own
``JAX_COMPILATION_CACHE_DIR`` is respected.
"""
from __future__ import annotations

import os
import shutil
import tempfile

_OWN_CACHE = "JAX_COMPILATION_CACHE_DIR" not in os.environ
if _OWN_CACHE:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="largerl-jax-test-xla-cache-")
    # every program, however small or quick to compile: the suite's are all small
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


def pytest_sessionfinish(session, exitstatus):
    # only the process that made the cache has _OWN_CACHE; under xdist it finishes after its workers
    if _OWN_CACHE:
        shutil.rmtree(os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
