"""Surviving kills: torn checkpoints and metrics lines are skipped, resumed runs end exactly like
uninterrupted ones (the soak in its short form: 3 SIGKILLs of a real training process)."""
import gc
import json
import os

import jax
import jax.numpy as jnp
import pytest

from benchmarks.kill_soak import run_soak
from largerl_jax.training import run
from largerl_jax.training.run_files import checkpoint as checkpoint_module
from largerl_jax.training.run_files import metrics_io as records
from largerl_jax.training.run_files.checkpoint import MARKED_DIR, MARKER, Checkpointer


def _state(scale):
    return {"w": jnp.arange(512.0) * scale, "b": jnp.full((3, 4), scale, jnp.float32)}


def _abstract():
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), _state(1.0))


def _saved(tmp_path, steps, max_to_keep=3):
    ck = Checkpointer(str(tmp_path / "ck"), max_to_keep=max_to_keep)
    for s in steps:
        ck.save(s, _state(float(s)), {"env_steps": s})
    ck.close()
    return str(tmp_path / "ck")


def _biggest_file(path):
    files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    return max(files, key=os.path.getsize)


def _keyed(recs):
    return {(r["seed"], r["env_steps"]): {k: v for k, v in r.items() if k != "wall_time_s"} for r in recs}


def test_unmarked_latest_step_is_skipped_with_a_message(tmp_path, capsys):
    root = _saved(tmp_path, [100, 200])
    os.remove(os.path.join(root, "200", MARKER))  # killed after Orbax finished, before the marker
    ck = Checkpointer(root)
    assert ck.latest_step() == 100
    state, meta = ck.restore(_abstract())
    assert meta["env_steps"] == 100 and float(state["w"][1]) == 100.0
    err = capsys.readouterr().err
    assert "skipping torn step 200" in err and "resuming from step 100" in err
    assert not os.path.exists(os.path.join(root, "200"))
    ck.save(200, _state(2.0), {"env_steps": 200})  # the torn step is written again without a clash
    assert ck.complete_steps() == [100, 200]


def test_interrupted_orbax_write_is_skipped_and_removed(tmp_path, capsys):
    root = _saved(tmp_path, [100])
    tmp = os.path.join(root, "200.orbax-checkpoint-tmp")
    os.makedirs(os.path.join(tmp, "state"))
    with open(os.path.join(tmp, "state", "partial"), "wb") as f:
        f.write(b"\0" * 10)
    ck = Checkpointer(root)
    _, meta = ck.restore(_abstract())
    assert meta["env_steps"] == 100
    assert "skipping torn step 200" in capsys.readouterr().err
    assert not os.path.exists(tmp)


# Orbax abandons the sibling reads of a failed one, which Python reports as unraisable when
# they are collected: the tests that damage data collect them before they end.
DAMAGED_READS = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@DAMAGED_READS
@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_complete_step_that_fails_to_load_falls_back_to_the_previous(tmp_path, capsys, damage):
    root = _saved(tmp_path, [100, 200])
    victim = _biggest_file(os.path.join(root, "200", "state"))
    if damage == "truncate":
        os.truncate(victim, 7)
    else:
        os.remove(victim)
    ck = Checkpointer(root)
    state, meta = ck.restore(_abstract())
    assert meta["env_steps"] == 100 and float(state["w"][1]) == 100.0
    assert "skipping step 200: it does not load" in capsys.readouterr().err
    assert any(n.startswith("damaged_200") for n in os.listdir(root))  # set aside, not lost
    ck.save(200, _state(2.0), {"env_steps": 200})
    assert ck.complete_steps() == [100, 200]
    gc.collect()


@DAMAGED_READS
def test_no_loadable_checkpoint_is_a_clear_error(tmp_path):
    root = _saved(tmp_path, [100])
    os.truncate(_biggest_file(os.path.join(root, "100", "state")), 7)
    with pytest.raises(RuntimeError, match="no checkpoint .* loads"):
        Checkpointer(root).restore(_abstract())
    assert os.path.exists(os.path.join(root, "100"))  # left in place: maybe a layout mismatch
    os.remove(os.path.join(root, "100", MARKER))
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        Checkpointer(root).restore(_abstract())
    gc.collect()


def test_pruning_happens_after_marking_and_keeps_complete_steps(tmp_path):
    root = _saved(tmp_path, [100, 200, 300], max_to_keep=1)
    assert sorted(os.listdir(root)) == ["300", MARKED_DIR]
    os.remove(os.path.join(root, "300", MARKER))
    assert Checkpointer(root).latest_step() is None  # unmarked is never complete


def test_checkpoints_from_before_markers_are_adopted(tmp_path, capsys):
    root = _saved(tmp_path, [100, 200])
    for name in ("100/" + MARKER, "200/" + MARKER, MARKED_DIR):
        os.remove(os.path.join(root, name))
    ck = Checkpointer(root)
    assert ck.complete_steps() == [100, 200]
    assert "written before completeness markers" in capsys.readouterr().err
    assert ck.restore(_abstract())[1]["env_steps"] == 200


def test_partial_last_metrics_line_is_dropped_with_a_message(tmp_path, capsys):
    path = str(tmp_path / "metrics.jsonl")
    records.append(path, [{"seed": 0, "env_steps": 200}, {"seed": 0, "env_steps": 400}])
    with open(path, "a") as f:
        f.write('{"seed": 0, "env_st')  # a kill in the middle of an append
    assert [r["env_steps"] for r in records.read(path)] == [200, 400]
    assert "dropping a partial last line" in capsys.readouterr().err
    kept = records.truncate_to(path, 200)
    assert kept == [{"seed": 0, "env_steps": 200}]
    assert (tmp_path / "metrics.jsonl").read_text() == json.dumps(kept[0]) + "\n"
    assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl"]  # no temporary file left behind
    with open(path, "w") as f:
        f.write('{"seed": 0\n{"seed": 0, "env_steps": 200}\n')
    with pytest.raises(ValueError, match="metrics.jsonl:1"):
        records.read(path)  # damage before the last line is not a torn append


def test_resume_after_torn_checkpoint_and_metrics_line_has_no_duplicates(tiny_pendulum, tmp_path, capsys):
    cfg = tiny_pendulum()
    cfg.checkpoint_every_env_steps = 400
    part = tmp_path / "part"
    first = run(cfg, workdir=str(part), num_seeds=2, progress=False, stop_after_env_steps=1200)
    os.remove(part / "checkpoints" / "1200" / MARKER)  # as if killed while saving step 1200
    with open(part / "metrics.jsonl", "a") as f:
        f.write('{"seed": 0, "env_steps": 16')  # and a torn append after it
    resumed = run(cfg, workdir=str(part), num_seeds=2, resume=True, progress=False)
    err = capsys.readouterr().err
    assert "skipping torn step 1200" in err and "resuming from step 800" in err
    assert "dropping a partial last line" in err
    on_disk = [json.loads(line) for line in (part / "metrics.jsonl").read_text().splitlines()]
    keys = [(r["seed"], r["env_steps"]) for r in on_disk]
    assert keys == [(s, e) for e in (400, 800, 1200, 1600) for s in (0, 1)]  # none twice, none missing
    assert _keyed(on_disk) == _keyed(resumed)
    # env step 1200 was computed again from the checkpoint at 800: exactly as the first time
    assert _keyed(on_disk[:6]) == _keyed(first)


def test_kill_soak_short_form(tmp_path):
    # a wide unmarked window (0.3 s) so that a loaded CI machine still lands kills inside it
    moments = ["checkpoint", "training", "checkpoint"]
    report = run_soak(str(tmp_path), kills=3, seed=0, env_steps=2000, moments=moments, slow_write_s=0.3)
    assert report["problems"] == [] and report["verdict"] == "pass", json.dumps(report, indent=1)
    assert all(k["killed"] for k in report["log"])
    assert report["kills_during_checkpoint_write"] >= 1
    # the harness's verdict, checked again from the files: exact per seed and env step
    ref = records.read(str(tmp_path / "reference" / "metrics.jsonl"))
    soaked = records.read(str(tmp_path / "soak" / "metrics.jsonl"))
    assert [(r["seed"], r["env_steps"]) for r in soaked] == [(r["seed"], r["env_steps"]) for r in ref]
    assert _keyed(soaked) == _keyed(ref)


def test_every_process_reloads_before_any_deletes_a_pruned_step(tmp_path, monkeypatch):
    # Under jax.distributed, reload reads each listed step's metadata while Orbax's primary
    # process deletes the pruned step: a process still reading must not see it vanish (CI:
    # "Path is not a directory: .../checkpoints/400"). Checked on the order of calls, one
    # process standing in for each.
    events = []
    monkeypatch.setattr(checkpoint_module.devices, "multi_process", lambda: True)
    monkeypatch.setattr(checkpoint_module.devices, "barrier", lambda name: events.append("barrier"))
    ck = Checkpointer(str(tmp_path / "ck"), max_to_keep=1)
    for name in ("reload", "delete"):
        original = getattr(ck.manager, name)
        monkeypatch.setattr(ck.manager, name, lambda *a, _f=original, _n=name: (events.append(_n), _f(*a))[1])
    for step in (100, 200, 300):
        ck.save(step, _state(float(step)), {"env_steps": step})
    pruned = [i for i, e in enumerate(events) if e == "delete"]
    assert len(pruned) == 2
    for i in pruned:
        last_reload = max(j for j in range(i) if events[j] == "reload")
        assert "barrier" in events[last_reload + 1:i], events
    ck.close()
