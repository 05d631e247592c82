"""The GPU suite's pipeline on a CPU: the runner and its reports with fake steps (fast), a
dry run of benchmarks/gpu/run.sh end to end on MJX Ant at toy sizes (about a minute and a
half on 2 cores), and the wheel list of benchmarks/gpu/fetch_wheels.sh against the
dependency closure of our package minus the GPU image's packages."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib

import pytest

from benchmarks import gpu_report, gpu_suite, step_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GPU_DIR = os.path.join(ROOT, "benchmarks", "gpu")
TARGET_LINE = re.compile(r"^(PASS|FAIL|UNMEASURED): ", re.M)


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------- runner and reports (fast)

def _fake_throughput(path: str, seeds: int, rate: float, chunk_s: float) -> list[str]:
    """A step that writes what benchmarks.throughput writes, with one row."""
    row = {"seeds": seeds, "compile_s": 1.0, "chunk_s_median": chunk_s, "chunk_s_all": [chunk_s],
           "env_steps_per_s": rate, "grad_steps_per_s": rate, "env_steps_per_s_per_seed": rate / seeds,
           "peak_memory_bytes": 2**30, "peak_memory_kind": "device_peak_bytes_in_use", "device": "cuda:0",
           "replay_capacity": 1000000,
           "replay_copy_audit": {"buffer_copies": 0, "temp_bytes": 1, "largest_replay_array_bytes": 2,
                                 "replay_bytes": 3, "no_copy": True}}
    report = {"config": "ant_sac", "command": "x", "date": "2026-01-01", "machine": "m", "num_envs": 1,
              "updates_per_iteration": 1, "iterations_per_chunk": 300, "results": [row]}
    code = f"import json; json.dump({report!r}, open({path!r}, 'w'))"
    return [sys.executable, "-c", code]


def test_runner_records_failures_timeouts_and_skips(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    pidfile = tmp_path / "grandchild.pid"
    hang = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
            f"open({str(pidfile)!r}, 'w').write(str(p.pid)); print('hanging', flush=True); time.sleep(120)")
    S = step_runner.Step
    t1, t8 = str(work / "t1.json"), str(work / "t8.json")
    steps = [
        S("ant_sac@1", "throughput", "throughput-ant_sac", 1, _fake_throughput(t1, 1, 1000.0, 0.3), t1, 60),
        S("ant_sac@8", "throughput", "throughput-ant_sac", 8, _fake_throughput(t8, 8, 5000.0, 0.48), t8, 60),
        S("collect@4096", "collect", "collect-ant", 4096,
          [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], str(work / "c.json"), 60),
        S("collect@64", "collect", "collect-ant", 64, [sys.executable, "-c", hang], str(work / "h.json"), 3),
        S("ant_sac@2", "throughput", "throughput-ant_sac", 2, [sys.executable, "-c", "pass"], str(work / "t2.json"), 60),
    ]
    logged = []
    t0 = time.perf_counter()
    log = lambda *a, **k: logged.append(" ".join(map(str, a)))
    step_runner.run_steps(steps[:4], budget_s=100.0, min_step_s=1.0, log=log)
    assert time.perf_counter() - t0 < 30
    step_runner.run_steps(steps[4:], budget_s=0.5, min_step_s=1.0, log=log)  # budget used up
    status = {s.name: s.status for s in steps}
    assert status["ant_sac@1"] == "ok" and status["ant_sac@8"] == "ok"
    assert status["collect@4096"] == "failed" and "exit 3: boom" in steps[2].error
    assert status["collect@64"] == "timeout" and "hanging" in steps[3].error
    # the whole process group went, the hung step's own child too (gone, or a zombie)
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    try:
        with open(f"/proc/{pid}/stat") as f:
            assert f.read().split(")")[-1].split()[0] in "ZX"
    except FileNotFoundError:
        pass
    assert status["ant_sac@2"] == "skipped" and "budget" in steps[4].error

    equivalent = gpu_suite.equivalent_commands(gpu_suite.PLANS["gpu"], False, ("ant_sac",), (1, 8), (64, 4096), "ant")
    summary, reports, md = gpu_report.write_reports(
        str(out), steps, equivalent, "python -m benchmarks.gpu_suite --out x", False,
        __import__("datetime").datetime.now(__import__("datetime").timezone.utc), 12.0, (1, 8), (64, 4096), "ant")
    files = sorted(os.listdir(out))
    assert files == ["collect-ant.json", "gpu_results.md", "summary.json", "throughput-ant_sac.json"]
    for f in files:
        if f.endswith(".json"):
            json.load(open(out / f))
    tp = json.load(open(out / "throughput-ant_sac.json"))
    assert [r["seeds"] for r in tp["results"]] == [1, 8]
    assert [f["seeds"] for f in tp["failures"]] == [2]
    assert tp["command"].startswith("python -m benchmarks.throughput --config=ant_sac --seeds=1,8")
    col = json.load(open(out / "collect-ant.json"))
    assert col["results"] == [] and {f["status"] for f in col["failures"]} == {"failed", "timeout"}
    lines = TARGET_LINE.findall(md)
    assert lines == ["PASS", "UNMEASURED"], md  # 5x >= 4x; nothing at 4096 envs
    assert "wall time of the same per-seed work 1.60x" in md
    assert "this ran on cuda:0" in md  # no probe: the device from the rows, not an H100
    assert summary["replay_copy_audit"]["throughput-ant_sac"]["8"]["no_copy"] is True
    assert "**TIMEOUT** (collect@64)" in md and "**FAILED** (collect@4096)" in md
    assert summary["rerun_skipped"] == "bash benchmarks/gpu/run.sh --only probe,ant_sac@2"
    assert summary["rerun_skipped"] in md


def test_brax_steps_become_one_table(tmp_path):
    """Two peers --only=brax steps (one measured, one failed) in the report's Brax section."""
    ok = str(tmp_path / "b1.json")
    data = {"errors": [], "brax": {"regimes": {"64x8": {"iterations": 200, "ours": 9000.0, "brax": 6000.0,
                                                         "ours/brax": 1.5, "settings": {"num_envs": 64}}}}}
    code = f"import json; json.dump({data!r}, open({ok!r}, 'w'))"
    S = step_runner.Step
    steps = [S("brax@64x8", "brax", "peers-brax", None, [sys.executable, "-c", code], ok, 60),
             S("brax@1024x2b8192", "brax", "peers-brax", None, [sys.executable, "-c", "import sys; sys.exit(2)"],
               str(tmp_path / "b2.json"), 60)]
    step_runner.run_steps(steps, budget_s=60.0, min_step_s=1.0, log=lambda *a, **k: None)
    out = tmp_path / "out"
    out.mkdir()
    _, reports, md = gpu_report.write_reports(
        str(out), steps, {}, "suite", False, __import__("datetime").datetime.now(__import__("datetime").timezone.utc),
        1.0, (1,), (64,), "ant")
    assert reports["peers-brax"]["regimes"]["64x8"]["ours/brax"] == 1.5
    assert "| 64x8 | 9,000.0 | 6,000.0 | 1.50 |" in md
    assert "brax@1024x2b8192: **FAILED**" in md
    assert json.load(open(out / "peers-brax.json"))["regimes"]["64x8"]["brax"] == 6000.0


def test_peers_part3_regimes_and_seeds_are_chosen_on_the_command_line():
    from benchmarks import peers

    args = peers.parse_args(["--only=brax", "--brax-regimes=64x8", "--brax-seeds=0"])
    assert args.brax_regimes == ["64x8"] and args.brax_seeds == 0
    for bad in (["--brax-regimes=2x2"], ["--brax-seeds=1"], ["--brax-regimes=,"]):
        with pytest.raises(SystemExit):
            peers.parse_args(bad)


def test_targets_thresholds():
    def reports(r1, r8, rate):
        mk = lambda s, r: {"seeds": s, "env_steps_per_s": r, "chunk_s_median": s / r}
        return {"throughput-ant_sac": {"results": [mk(1, r1), mk(8, r8)]},
                "collect-ant": {"results": [{"num_envs": 4096, "env_steps_per_s": rate}]}}

    ev = lambda rep: [t["status"] for t in gpu_report.evaluate_targets(
        rep, (1, 2, 4, 8), (64, 4096), "ant", "NVIDIA H100 80GB HBM3", False)]
    assert ev(reports(100, 400, 1e6)) == ["PASS", "PASS"]
    assert ev(reports(100, 399, 999_999)) == ["FAIL", "FAIL"]
    t = gpu_report.evaluate_targets(reports(100, 800, 2e6), (1, 8), (4096,), "ant", "NVIDIA H100 80GB HBM3", False)
    assert "[" not in t[0]["detail"]  # no caveat on an H100
    assert "H200" in gpu_report.evaluate_targets(reports(1, 8, 1), (1, 8), (4096,), "ant", "NVIDIA H200", False)[0]["detail"]


def test_plan_order_and_selection(tmp_path):
    steps = gpu_suite.build_steps(gpu_suite.PLANS["gpu"], str(tmp_path), dry_run=False)
    names = [s.name for s in steps]
    assert names[:9] == ["probe", "ant_sac@1", "ant_sac@8", "collect@4096", "ant_fast_td3@1", "ant_fast_td3_4096@1",
                         "ant_crossq@1", "brax@64x8", "brax@1024x2b8192"]
    assert sorted(names) == sorted(["probe"] + [f"{c}@{s}" for c in ("ant_sac", "ant_sac_ofe") for s in (1, 2, 4, 8)]
                                   + [f"collect@{n}" for n in (64, 256, 1024, 4096)]
                                   + ["brax@64x8", "brax@1024x2b8192", "ant_fast_td3@1", "ant_fast_td3@4",
                                      "ant_fast_td3_4096@1", "ant_crossq@1", "ant_crossq@8"])
    fast = next(s for s in steps if s.name == "ant_fast_td3@4")
    assert "--config=ant_fast_td3" in fast.argv and "--iterations=20" in fast.argv
    brax = next(s for s in steps if s.name == "brax@64x8")
    assert brax.argv[1:5] == ["-m", "benchmarks.peers", "--only=brax", "--brax-regimes=64x8"]
    ofe8 = next(s for s in steps if s.name == "ant_sac_ofe@8")
    assert "--iterations=10" in ofe8.argv and "--seeds=8" in ofe8.argv and ofe8.limit_s == 210
    assert [s.name for s in gpu_suite.select(steps, "collect,ant_sac@2")] == [
        "collect@4096", "collect@64", "ant_sac@2", "collect@256", "collect@1024"]
    with pytest.raises(SystemExit):
        gpu_suite.select(steps, "ant_sac@3")


# ---------------------------------------------------------------- end to end on MJX Ant

@pytest.mark.slow
def test_dry_run_end_to_end(tmp_path):
    """run.sh --dry-run at toy sizes, cut to two MJX compiles: the main job's throughput on Ant at
    S=1 (its shrinking overrides must validate), collection at 8 envs of the small
    inverted_pendulum (--collect-env; the Ant step is compiled once already, by the main job), and
    an injected failing ant_sac step; every output file must be there and parse. (The full dry
    run, `bash benchmarks/gpu/run.sh --dry-run`, adds S=2, N=16, ant_sac and Ant collection:
    ~4 minutes.)"""
    out = tmp_path / "out"
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable)
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["bash", os.path.join(GPU_DIR, "run.sh"), "--dry-run", "--only",
         "probe,ant_sac_ofe@1,collect@8,ant_sac@99", "--collect-env=inverted_pendulum", "--inject-failure"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    d = out / "gpu"
    files = sorted(os.listdir(d))
    assert files == ["collect-inverted_pendulum.json", "gpu_results.md", "log.txt", "summary.json",
                     "throughput-ant_sac.json", "throughput-ant_sac_ofe.json"], files
    summary = json.load(open(d / "summary.json"))
    status = {s["name"]: s["status"] for s in summary["steps"]}
    assert status == {"probe": "ok", "ant_sac_ofe@1": "ok", "collect@8": "ok", "ant_sac@99": "failed"}, summary["steps"]
    assert summary["dry_run"] is True and summary["device"] == "cpu"
    assert summary["probe"]["packages"]["brax"]
    ofe = json.load(open(d / "throughput-ant_sac_ofe.json"))
    (row,) = ofe["results"]
    assert row["seeds"] == 1 and row["env_steps_per_s"] > 0 and row["grad_steps_per_s"] > 0
    assert set(row["replay_copy_audit"]) >= {"buffer_copies", "temp_bytes", "no_copy"}
    assert summary["replay_copy_audit"]["throughput-ant_sac_ofe"]["1"] == row["replay_copy_audit"]
    assert ofe["num_envs"] == 8 and "--config.agent.ofenet.units=8" in ofe["command"] and not ofe["failures"]
    sac = json.load(open(d / "throughput-ant_sac.json"))
    assert sac["results"] == [] and [f["seeds"] for f in sac["failures"]] == [99]
    col = json.load(open(d / "collect-inverted_pendulum.json"))
    (row,) = col["results"]
    assert row["num_envs"] == 8 and row["env_steps_per_s"] > 0 and col["env"] == "inverted_pendulum"
    md = (d / "gpu_results.md").read_text()
    assert "DRY RUN" in md and "## ant_sac_ofe training throughput" in md and "## inverted_pendulum collection" in md
    assert "unknown config key 'no_such_key'" in md
    # ant_sac@1,2 and N=16 were not selected: both targets are reported, as unmeasured
    assert TARGET_LINE.findall(md) == ["UNMEASURED", "UNMEASURED"]
    assert TARGET_LINE.findall((d / "log.txt").read_text())  # printed, and so in the log
    print(f"dry run took {wall:.0f} s")


# ---------------------------------------------------------------- the wheels for the GPU image

def _pins() -> dict[str, list[tuple[str, str]]]:
    out = subprocess.run(["bash", os.path.join(GPU_DIR, "fetch_wheels.sh"), "--list"],
                         capture_output=True, text=True, check=True).stdout
    pins: dict[str, list[tuple[str, str]]] = {"required": [], "fallback": []}
    for line in out.splitlines():
        kind, pin = line.split()
        name, version = pin.split("==")
        pins[kind].append((canon(name), version))
    return pins


def _image_packages() -> set[str]:
    with open(os.path.join(GPU_DIR, "image_packages.txt")) as f:
        return {canon(l.strip()) for l in f if l.strip() and not l.startswith("#")}


def test_scripts_parse():
    for script in ("fetch_wheels.sh", "run.sh"):
        subprocess.run(["bash", "-n", os.path.join(GPU_DIR, script)], check=True)


def test_wheels_cover_what_the_image_lacks():
    """Every package of the Requires-Dist closure (markers for CPython 3.12 on Linux, read from
    the installed distributions) of our dependencies, less Gymnasium (host-stepped configs
    only, which the suite does not run), is in the GPU image or has a wheel; the fallbacks are
    image packages; every pin of a direct dependency is inside pyproject.toml's range."""
    metadata = pytest.importorskip("importlib.metadata")
    requirements = pytest.importorskip("packaging.requirements")
    markers = pytest.importorskip("packaging.markers")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        deps = [requirements.Requirement(d) for d in tomllib.load(f)["project"]["dependencies"]]
    env = dict(markers.default_environment(), python_version="3.12", python_full_version="3.12.3",
               sys_platform="linux", platform_system="Linux", platform_machine="x86_64")
    seen, names = set(), set()
    todo = [d for d in deps if canon(d.name) != "gymnasium"]
    while todo:
        req = todo.pop()
        name = canon(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            r = requirements.Requirement(line)
            if r.marker is None or any(r.marker.evaluate(dict(env, extra=e)) for e in {"", *req.extras}):
                todo.append(r)
    image = _image_packages()
    pins = _pins()
    required = {n for n, _ in pins["required"]}
    missing = names - image - required
    assert not missing, f"add to REQUIRED in benchmarks/gpu/fetch_wheels.sh (not in the GPU image): {sorted(missing)}"
    assert {n for n, _ in pins["fallback"]} <= image
    ranges = {canon(d.name): d.specifier for d in deps}
    for name, version in pins["required"] + pins["fallback"]:
        if name in ranges:
            assert ranges[name].contains(version), (name, version, str(ranges[name]))
    # With the development venv's versions installed, the list is exactly the closure (no strays).
    if all(_installed(metadata, n) == v for n, v in pins["required"]):
        assert required <= names, sorted(required - names)


def _installed(metadata, name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def test_fallbacks_only_out_of_range(tmp_path):
    """pick_fallbacks.py chooses a fallback wheel only for a package outside pyproject's range."""
    wheels = tmp_path / "fallback"
    wheels.mkdir()
    for w in ("flax-0.12.8-py3-none-any.whl", "optax-0.2.8-py3-none-any.whl"):
        (wheels / w).write_bytes(b"")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["flax>=0.12.8,<0.13", "optax<0.0.1"]\n')
    pytest.importorskip("flax")
    pytest.importorskip("optax")
    out = subprocess.run([sys.executable, os.path.join(GPU_DIR, "pick_fallbacks.py"), f"--pyproject={pyproject}",
                          f"--wheels={wheels}"], capture_output=True, text=True, check=True)
    from importlib import metadata

    from packaging.version import Version
    flax_ok = Version("0.12.8") <= Version(metadata.version("flax")) < Version("0.13")
    chosen = [os.path.basename(p) for p in out.stdout.split()]
    assert "optax-0.2.8-py3-none-any.whl" in chosen
    assert ("flax-0.12.8-py3-none-any.whl" in chosen) == (not flax_ok)
