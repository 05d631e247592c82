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

Also here: XLA:CPU flags that compile fast (below), and the pytest-xdist scheduler that keeps a
file's (or a shared group's) tests in one worker and starts the longest files first.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile

import pytest

from file_durations import load as load_durations, load_tests as load_test_durations
from xla_test_flags import FAST_COMPILE

# XLA:CPU set to compile fast (xla_test_flags.FAST_COMPILE, measured there). Float results differ
# in the last bits (FMA contraction, vectorised reductions), so the golden records keep a set
# computed from the reference commit under exactly these flags
# (tests/golden/records/*-fast-compile); benchmarks and experiments compile at XLA's defaults, as
# do the learning tests (their own processes). A user's own XLA_FLAGS are respected (the golden
# test then looks for a set made under them).
os.environ.setdefault("XLA_FLAGS", FAST_COMPILE)

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


# A module that shares a session fixture with other modules (a finished golden run, ``case_run``)
# says so at its top level: ``pytestmark = pytest.mark.xdist_group("NAME")``.
_SHARED_GROUP = re.compile(r"""^pytestmark\s*=\s*pytest\.mark\.xdist_group\(\s*["']([^"']+)["']\s*\)""", re.M)


@functools.cache
def _file_group(path: str) -> str:
    """The unit of work a test file belongs to: its shared group if it declares one, else itself."""
    try:
        with open(path, encoding="utf-8") as f:
            found = _SHARED_GROUP.search(f.read())
    except OSError:
        found = None
    return f"group:{found.group(1)}" if found else path


def pytest_xdist_make_scheduler(config, log):
    """Whole files per xdist worker, and the files of one shared group in one worker, so that a
    module's fixtures (one compiled MJX rollout, one finished grid) and a group's session fixture
    are built once. Not xdist's own ``--dist loadgroup``: with pytest 9 it groups nothing
    (xdist 3.8 marks a group by rewriting ``item._nodeid``, which pytest 9 no longer reads), so
    every test went to whichever worker was free and each worker rebuilt the module fixtures of
    the tests it got (measured: the grid fixture, 143 s, built twice per run)."""
    from xdist.scheduler import LoadScopeScheduling  # only under xdist, which calls this hook

    rootdir = str(config.rootpath)
    seconds, test_seconds = load_durations(), load_test_durations()

    class FileGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _file_group(os.path.join(rootdir, nodeid.split("::", 1)[0]))

        def _assign_work_unit(self, node) -> None:
            # Longest first (tests/file_durations.json: the selected tests' own seconds, else
            # their files', else a second per test), so that the long files overlap rather than
            # one of them running alone at the end.
            def weight(scope: str) -> float:
                nodes = self.workqueue[scope]
                if test_seconds:
                    return sum(test_seconds.get(n, 0.0) for n in nodes) or float(len(nodes))
                files = {n.split("::", 1)[0] for n in nodes}
                return sum(seconds.get(f, 0.0) for f in files) or float(len(nodes))

            self.workqueue.move_to_end(max(self.workqueue, key=weight), last=False)
            super()._assign_work_unit(node)

    return FileGroupScheduling(config, log)


@pytest.fixture(scope="session")
def case_run(tmp_path_factory):
    """``case_run(name) -> (records, workdir)``: golden case ``name`` (tests/golden/cases.py) run
    once per worker, for the golden test and for the tests that check the same tiny run's
    behaviour (test modules in the xdist group 'golden')."""
    from golden.cases import run_case

    done: dict = {}

    def get(name: str):
        if name not in done:
            workdir = str(tmp_path_factory.mktemp(f"case_{name}") / name)
            done[name] = (run_case(name, workdir), workdir)
        return done[name]

    return get
