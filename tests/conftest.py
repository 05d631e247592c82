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

import pytest

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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Whole files per xdist worker (``--dist loadgroup``: a file is its own group), so that a
    module's fixtures are built once; a module that shares a session fixture with another (a
    finished golden run, ``case_run``) names a common group instead, and those files then run
    in one worker, which builds the fixture once. (Before xdist's own hook, which reads the
    groups.)"""
    for item in items:
        if not any(True for _ in item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def case_run(tmp_path_factory):
    """``case_run(name) -> (records, workdir)``: golden case ``name`` (tests/golden/cases.py) run
    once per worker, for the golden test and for the tests that check the same tiny run's
    behaviour (test modules in the xdist group 'golden')."""
    from golden.cases import records

    done: dict = {}

    def get(name: str):
        if name not in done:
            workdir = str(tmp_path_factory.mktemp(f"case_{name}") / name)
            done[name] = (records(name, workdir), workdir)
        return done[name]

    return get
