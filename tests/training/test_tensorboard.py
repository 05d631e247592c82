import glob
import math
import os

import numpy as np

from largerl_jax.training.run_files import metrics_io as records_io
from largerl_jax.training.run_files.tensorboard import TensorBoardLog, read_scalars


def _records(seeds=(0, 1, 2), steps=(1000, 2000, 3000)):
    out = []
    for step in steps:
        for seed in seeds:
            out.append({
                "seed": seed, "env_steps": step, "grad_steps": step // 4,
                "eval_return": 100.0 * seed + step / 7.0,
                "eval_return_std": None if step == 1000 else 1.5,  # null: no tag point at that step
                "sv/critic/0": 1.0 + 0.01 * step / 1000 + seed,
                "gates/phi_s/0/alive": 32 - seed,
                "params/train": 1_596_999.0,
                "diverged": step == 3000 and seed == 1,
                "first_nonfinite": "critic" if step == 3000 and seed == 1 else None,
            })
    return out


def _expected(records):
    out = {}
    for r in records:
        for k, v in r.items():
            if k in ("seed", "env_steps") or v is None or isinstance(v, str):
                continue
            out.setdefault(r["seed"], {}).setdefault(k, []).append((r["env_steps"], float(v)))
    return out


def _assert_same(got, want):
    assert got.keys() == want.keys()
    for seed in want:
        assert got[seed].keys() == want[seed].keys(), seed
        for tag, points in want[seed].items():
            steps, values = zip(*got[seed][tag])
            assert list(steps) == [s for s, _ in points], (seed, tag)
            np.testing.assert_allclose(values, [v for _, v in points], rtol=1e-6, err_msg=f"{seed} {tag}")


def test_add_round_trips_through_tensorboards_reader(tmp_path):
    recs = _records()
    with TensorBoardLog(str(tmp_path)) as log:
        for step in (1000, 2000, 3000):  # one add per evaluation, as the runner calls it
            log.add([r for r in recs if r["env_steps"] == step])
        # flushed after each add: readable before close, as a killed run leaves it
        assert read_scalars(str(tmp_path))[0]["eval_return"][-1][0] == 3000
    got = read_scalars(str(tmp_path))
    _assert_same(got, _expected(recs))
    assert got[1]["diverged"][-1] == (3000, 1.0) and got[0]["diverged"][-1] == (3000, 0.0)
    assert "first_nonfinite" not in got[1] and "seed" not in got[0] and "env_steps" not in got[0]
    assert [s for s, _ in got[2]["eval_return_std"]] == [2000, 3000]
    # writers stay open between adds: one events file per seed
    for seed in (0, 1, 2):
        assert len(glob.glob(os.path.join(tmp_path, "tensorboard", f"seed_{seed}", "events.out.tfevents.*"))) == 1


def test_rewrite_after_truncation_keeps_only_the_kept_steps(tmp_path):
    run_dir = str(tmp_path)
    path = os.path.join(run_dir, "metrics.jsonl")
    recs = _records(seeds=(0, 1), steps=(1000, 2000, 3000, 4000))
    records_io.write(path, recs)
    log = TensorBoardLog(run_dir)
    log.rewrite(recs)
    log.close()
    # a resume from the 2000-step checkpoint: metrics.jsonl truncated, then the event files rewritten
    kept = records_io.truncate_to(path, 2000)
    log = TensorBoardLog(run_dir)
    log.rewrite(kept)
    _assert_same(read_scalars(run_dir), _expected(kept))
    more = [r for r in _records(seeds=(0, 1), steps=(3000,))]
    for r in more:
        r["eval_return"] = -5.0  # the resumed run's own numbers, not the discarded ones
    log.add(more)
    log.close()
    got = read_scalars(run_dir)
    _assert_same(got, _expected(kept + more))
    assert got[0]["eval_return"][-1] == (3000, -5.0)


def test_rewrite_drops_seeds_that_have_no_record_left(tmp_path):
    with TensorBoardLog(str(tmp_path)) as log:
        log.add(_records(seeds=(0, 1), steps=(1000,)))
        log.rewrite(_records(seeds=(0,), steps=(1000,)))
    assert set(read_scalars(str(tmp_path))) == {0}
    assert not os.path.exists(os.path.join(tmp_path, "tensorboard", "seed_1"))


def test_nan_is_kept(tmp_path):
    with TensorBoardLog(str(tmp_path)) as log:
        log.add([{"seed": 0, "env_steps": 10, "critic_loss": float("nan")}])
    ((step, value),) = read_scalars(str(tmp_path))[0]["critic_loss"]
    assert step == 10 and math.isnan(value)
