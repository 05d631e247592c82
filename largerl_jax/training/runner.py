"""Host-side orchestration of a multi-seed run: schedule of compiled chunks, evaluation, metrics
files, checkpoints and resumption. Everything per-step happens inside the compiled chunks."""
from __future__ import annotations

import functools
import json
import math
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents import make_agent
from largerl_jax.envs import is_host_env, make_env
from largerl_jax.envs.registry import is_host_env_name
from largerl_jax.replay.kinds import PrioritizedReplay, replay_kind
from largerl_jax.training.eval_metrics import singular_value_fn, srank_fn
from largerl_jax.training.config import agent_config_for_run, env_kwargs, pretrain_updates, validate
from largerl_jax.training.host_loop import HostLoop
from largerl_jax.training.learner import Learner
from largerl_jax.training.loop import DeviceLoop, SeedBatchedDeviceLoop
from largerl_jax.training.memory import check_fits, memory_report
from largerl_jax.training.outputs import Outputs, Point, config_json
from largerl_jax.training import devices, hyperparams, shrinking
from largerl_jax.training import workdir as run_workdir
from largerl_jax.training.precision import matmul_precision
from largerl_jax.training.progress import Progress


class DivergenceError(RuntimeError):
    """A seed's parameters became NaN/inf."""


def make_driver(cfg, seeds: list[int], carried: tuple[str, ...] = ()):
    """The seed-batched training driver for cfg: on-device envs (jit(vmap(scan))) or host envs.
    ``carried``: config keys whose values the train state carries (training.hyperparams)."""
    env_options = env_kwargs(cfg)
    env = make_env(cfg.env.name, cfg.env.num_envs, seed=seeds[0], **env_options)
    spec = env.spec

    def build_agent(hparams=None):
        run_cfg = hyperparams.substitute(cfg, hparams)
        return make_agent(agent_config_for_run(run_cfg), spec.obs_dim, spec.act_dim, spec.frame_shape)

    agent = build_agent()
    if pretrain_updates(cfg) and agent.pretrain is None:
        raise ValueError(f"agent {agent.name!r} has no pre-training phase")
    priority = None
    if cfg.prioritized_replay.enabled:
        per = cfg.prioritized_replay
        train_iters = max(math.ceil((cfg.total_env_steps - cfg.warmup_env_steps) / cfg.env.num_envs), 1)
        priority = PrioritizedReplay(per.alpha, per.beta0, per.eps, train_iters * cfg.updates_per_iteration)
    learner = Learner(
        agent=agent,
        batch_size=cfg.agent.batch_size,
        updates_per_iteration=cfg.updates_per_iteration,
        num_envs=cfg.env.num_envs,
        replay=replay_kind(agent.frame_stack, priority),
        agent_factory=build_agent if carried else None,
    )
    if is_host_env(env):
        env.close()
        return HostLoop(
            learner,
            lambda n, seed: make_env(cfg.env.name, n, seed=seed, **env_options),
            cfg.env.num_envs,
            cfg.env.eval_episodes,
            seeds,
        )
    eval_env = make_env(cfg.env.name, cfg.env.eval_episodes, **env_options)
    return SeedBatchedDeviceLoop(DeviceLoop(learner=learner, env=env, eval_env=eval_env))


def plan_segments(cfg) -> list[tuple[int, str]]:
    """The run as a list of (length, phase) chunks: warm-up, then the agent's pre-training (if
    any), then training. Warm-up and training lengths are iterations of N env steps (and U
    updates); pre-training lengths are single updates, ``pretrain_updates(cfg)`` in all, in
    chunks of at most one log interval's iterations. Env-step boundaries fall on multiples of
    the log interval and at the end of warm-up, so few distinct chunk lengths are compiled."""
    n = cfg.env.num_envs
    total = math.ceil(cfg.total_env_steps / n)
    warm = min(cfg.warmup_env_steps // n, total)
    step = cfg.log_every_env_steps // n
    segments, it = [], 0
    while it < total:
        end = min((it // step + 1) * step, total)
        if it < warm < end:
            end = warm
        segments.append((end - it, "warmup" if it < warm else "train"))
        if end == warm and pretrain_updates(cfg):
            full, rest = divmod(pretrain_updates(cfg), step)
            segments += [(step, "pretrain")] * full + ([(rest, "pretrain")] if rest else [])
        it = end
    return segments


def phase_done(segments, index: int) -> int:
    """Iterations of segment ``index``'s phase completed by the end of that segment."""
    phase = segments[index][1]
    return sum(n for n, p in segments[: index + 1] if p == phase)


def _crossed(start: int, end: int, every: int) -> bool:
    return every > 0 and end // every > start // every


def _to_host(metrics: dict) -> dict[str, np.ndarray]:
    return {k: devices.to_host(v).astype(np.float64) for k, v in metrics.items()}


class _Window:
    """Per-seed chunk metrics since the last evaluation: counts are summed, the rest averaged.
    Phases are never mixed: metrics of warm-up and pre-training chunks are kept under their
    phase's prefix ('warmup/train_return', 'pretrain/ofe_loss'), training metrics unprefixed."""

    SUMMED = ("env_invalid_steps",)
    DROPPED = ("diverged", "diverged_at", "diverged_what", "train_episodes")

    def __init__(self):
        self.values: dict[str, list] = {}

    def add(self, metrics: dict[str, np.ndarray], phase: str = "train"):
        prefix = "" if phase == "train" else f"{phase}/"
        for k, v in metrics.items():
            if k not in self.DROPPED:
                self.values.setdefault(prefix + k, []).append(v)

    def means(self) -> dict[str, np.ndarray]:
        out = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN -> null
            for k, v in self.values.items():
                summed = k.rsplit("/", 1)[-1] in self.SUMMED
                out[k] = np.sum(np.stack(v), axis=0) if summed else np.nanmean(np.stack(v), axis=0)
        self.values = {}
        return out


def run(
    cfg,
    workdir: str | None = None,
    num_seeds: int = 1,
    resume: bool = False,
    progress: bool = True,
    stop_after_env_steps: int | None = None,
    after_chunk=None,
) -> list[dict]:
    """Train ``num_seeds`` seeds of ``cfg`` in one vmapped program. Returns every metrics record
    (one per seed and evaluation), which are also appended to ``workdir/metrics.jsonl``.

    ``stop_after_env_steps`` ends the process early at the first chunk boundary past it, as an
    interruption would (used to test resumption). ``after_chunk(ts, env_steps) -> ts``, if
    given, sees the train state after every chunk (fault injection in tests). Every program of
    the run is compiled under ``cfg.matmul_precision``.

    A seed whose losses or parameters become non-finite is frozen and left out of evaluations
    (its records say when and what); ``DivergenceError`` is raised only when every seed has.
    """
    return run_points([Point(cfg, workdir)], num_seeds, (), resume, progress, stop_after_env_steps, after_chunk)[0]


def run_points(
    points: list[Point],
    num_seeds: int,
    carried: tuple[str, ...] = (),
    resume: bool = False,
    progress: bool = True,
    stop_after_env_steps: int | None = None,
    after_chunk=None,
) -> list[list[dict]]:
    """Train ``num_seeds`` seeds of every point in ONE vmapped program: the points' configs may
    differ only in the ``carried`` keys (training.hyperparams), whose values ride in the train
    state. The batch is point-major (point p's seeds are rows p*S ... p*S+S-1) and split over
    every device of the job (training.devices). Each point writes its own run folder; returns
    each point's records (under jax.distributed, process 0 returns them all, the other
    processes only this invocation's). ``DivergenceError`` is raised only when every row of the
    batch has diverged."""
    base = points[0].cfg
    validate(base)
    _check_same_program(points, carried)
    with matmul_precision(base.matmul_precision):
        return _run(points, num_seeds, tuple(carried), resume, progress, stop_after_env_steps, after_chunk)


def _check_same_program(points: list[Point], carried) -> None:
    hyperparams.check_keys(points[0].cfg, carried)

    def program(cfg):
        data = json.loads(config_json(cfg))
        for key in carried:
            *parents, leaf = key.split(".")
            node = data
            for part in parents:
                node = node[part]
            node.pop(leaf)
        data.pop("name", None)
        return data

    first = program(points[0].cfg)
    for p in points[1:]:
        if program(p.cfg) != first:
            raise ValueError(f"point {p.name!r} differs from point {points[0].name!r} in more than the carried keys {list(carried)}")


def estimate_memory(cfg, driver, keys, hparams=None) -> tuple[str, dict]:
    """The train state's memory, from abstract shapes (nothing allocated)."""
    abstract = driver.abstract_state(keys, cfg.replay_capacity, hparams)
    row_bytes = driver.learner.replay.bytes_per_row(driver.spec)
    # validate() makes replay_capacity a multiple of num_envs, so every configured row exists
    return memory_report(abstract, len(keys), cfg.replay_capacity, row_bytes)


def _run(points, num_seeds, carried, resume, progress, stop_after_env_steps, after_chunk) -> list[list[dict]]:
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    cfg = points[0].cfg  # the shapes and schedule of every point
    num_points, rows = len(points), len(points) * num_seeds
    devices.check_rows(rows, f"--seeds={num_seeds}" if num_points == 1 else f"{num_points} points x {num_seeds} seeds")
    if devices.multi_process() and (shrinking.pruning_enabled(cfg) or is_host_env_name(cfg.env.name)):
        raise ValueError("runs over several processes (jax.distributed) need on-device envs and no pruning "
                         "(shrinking reads the whole state on one host)")
    outputs = Outputs(points, num_seeds, resume)
    # Row r is seed cfg.seed + (r % S) of point r // S, as in a run of that point alone.
    seeds = [p.cfg.seed + i for p in points for i in range(num_seeds)]
    labels = [f"{'' if p.name is None else p.name + ' '}seed {p.cfg.seed + i}" for p in points for i in range(num_seeds)]
    hparams = hyperparams.stacked([p.cfg for p in points], list(carried), num_seeds)
    # Shapes only until the memory check has passed: making real keys already compiles.
    abstract_keys = jax.ShapeDtypeStruct((rows, 2), jnp.uint32)
    agent_widths = None  # the networks' widths once pruning has shrunk them (checkpoint metadata)
    resume_step = outputs.resume_step() if resume else None
    if resume_step is not None:
        agent_widths = (outputs.meta_at(resume_step) or {}).get(shrinking.META_KEY)
        cfg = shrinking.with_widths(cfg, agent_widths)
    build = functools.partial(make_driver, carried=carried)
    driver = build(cfg, seeds)
    try:
        report, figures = estimate_memory(cfg, driver, abstract_keys, hparams)
        if progress:
            print(report, file=sys.stderr)
        check_fits(figures)
    except MemoryError:
        driver.close()
        outputs.close()
        raise
    segments = plan_segments(cfg)
    n = cfg.env.num_envs
    done_segments, wall_offset = 0, 0.0

    if resume_step is not None:
        point_hparams = [hyperparams.stacked([p.cfg], list(carried), num_seeds) for p in points]
        point_keys = jax.ShapeDtypeStruct((num_seeds, 2), jnp.uint32)
        try:
            ts, meta = outputs.restore(lambda i: driver.abstract_state(point_keys, cfg.replay_capacity, point_hparams[i]), resume_step)
        except RuntimeError as e:  # every complete checkpoint failed to load
            driver.close()
            outputs.close()
            raise ValueError(f"{e}: they do not match this code's train state for this config (shapes or structure)") from e
        done_segments, wall_offset = meta["segments_done"], meta["wall_time_s"]
        records = outputs.start_records(meta["env_steps"])
    else:
        keys = np.stack([np.asarray(jax.random.PRNGKey(s)) for s in seeds])
        ts = driver.init(devices.put_rows(keys), cfg.replay_capacity, devices.put_rows(hparams))
        records = outputs.start_records(None)

    ts = devices.put_rows(ts)
    env_steps = sum(s for s, phase in segments[:done_segments] if phase != "pretrain") * n
    bar = Progress(cfg.total_env_steps, enabled=progress)
    t_start = time.perf_counter()
    window = _Window()
    divergence = _Divergence(labels, driver.quantity_names(), outputs.checkpoint_dirs())
    evals = _eval_metrics(cfg, driver)
    try:
        for index in range(done_segments, len(segments)):
            iterations, phase = segments[index]
            start = env_steps
            ts, metrics = driver.chunk(ts, iterations, phase)
            metrics = _to_host(metrics)
            env_steps = start + (0 if phase == "pretrain" else iterations * n)
            if after_chunk is not None:
                ts = after_chunk(ts, env_steps)
            last = index == len(segments) - 1
            if phase == "train" and shrinking.due(cfg, start, env_steps, last):
                cfg, driver, ts, agent_widths = shrinking.shrink(cfg, driver, ts, build, seeds)
                ts = devices.put_rows(ts)
                evals = _eval_metrics(cfg, driver)
            divergence.update(metrics, start)
            invalid = metrics.get("env_invalid_steps")  # absent in pre-training chunks: no env steps
            if invalid is not None and invalid.any():
                counts = {label: c for label, c in zip(labels, invalid.astype(int).tolist()) if c}
                print(
                    f"warning: simulator produced non-finite states (reset as terminations) between env "
                    f"steps {start} and {env_steps}: {counts}",
                    file=sys.stderr,
                )
            window.add(metrics, phase)
            eval_mean = None
            grad_steps = int(devices.to_host(ts.grad_steps)[0])
            if last or _crossed(start, env_steps, cfg.eval_every_env_steps):
                returns = devices.to_host(driver.evaluate(ts)).astype(np.float64)  # [P*S, E]
                wall = wall_offset + time.perf_counter() - t_start
                stats = window.means()
                for fn in evals:
                    stats.update(_to_host(fn(ts)))
                if shrinking.pruning_enabled(cfg):
                    stats.update(shrinking.param_counts(cfg, driver, ts))
                for p in range(num_points):
                    rows_p = slice(p * num_seeds, (p + 1) * num_seeds)
                    new = _records(
                        seeds[rows_p], env_steps, grad_steps, returns[rows_p], {k: v[rows_p] for k, v in stats.items()},
                        wall, divergence, rows_p,
                    )
                    records[p] += new
                    outputs.append_records(p, new)
                healthy = ~divergence.diverged
                eval_mean = float(returns[healthy].mean()) if healthy.any() else None
                if outputs.enabled and (last or _crossed(start, env_steps, cfg.checkpoint_every_env_steps)):
                    meta = {"segments_done": index + 1, "env_steps": env_steps, "wall_time_s": wall}
                    if agent_widths:
                        meta[shrinking.META_KEY] = {k: list(v) for k, v in agent_widths.items()}
                    if carried:  # tools that read a point's folder rebuild its train state with them
                        meta[hyperparams.META_KEY] = list(carried)
                    outputs.save(env_steps, ts, meta)
            note = f"pre-training {phase_done(segments, index)}/{pretrain_updates(cfg)} updates" if phase == "pretrain" else ""
            phase_end = last or segments[index + 1][1] != phase  # each phase's last line is always shown
            bar.update(env_steps, grad_steps, eval_return=eval_mean, force=phase_end or eval_mean is not None, note=note)
            if divergence.diverged.all():
                raise DivergenceError(divergence.summary())
            if stop_after_env_steps is not None and env_steps >= stop_after_env_steps:
                break
    except Exception as e:
        if not run_workdir.is_disk_full(e):
            raise
        last = outputs.latest_checkpoint()
        kept = f"the last complete checkpoint (env step {last}) is intact" if last is not None else "no checkpoint was completed"
        raise run_workdir.DiskFullError(
            f"disk full while writing to {outputs.describe()}: {kept}; free space and rerun with --resume",
        ) from e
    finally:
        bar.close()
        driver.close()
        outputs.close()
    return records


def _eval_metrics(cfg, driver) -> list:
    """The evaluation-time analyses of the run: each maps the train state to {name: [rows]}."""
    fns = []
    if cfg.get("log_singular_values"):
        spectra = singular_value_fn(driver.agent)
        fns.append(lambda ts: spectra(ts.agent))
    if cfg.get("srank_batch_size"):
        fns.append(srank_fn(driver.learner, cfg.srank_batch_size))
    return fns


class _Divergence:
    """Per-seed divergence, read from the train state's record (see training.learner.Learner):
    warns once per seed when it happens; a diverged seed's later records carry no evaluation."""

    def __init__(self, labels: list[str], names: list[str], where: str):
        self.labels, self.names, self.where = labels, names, where
        self.diverged = np.zeros(len(labels), bool)
        self.at = np.full(len(labels), -1)
        self.what: list[str | None] = [None] * len(labels)

    def update(self, metrics: dict, start: int) -> None:
        flags = metrics["diverged"].astype(bool)
        for i in np.flatnonzero(flags & ~self.diverged):
            self.at[i] = int(metrics["diverged_at"][i])
            index = int(metrics["diverged_what"][i])
            self.what[i] = self.names[index] if 0 <= index < len(self.names) else f"quantity #{index}"
            print(
                f"warning: {self.labels[i]} diverged at env step {self.at[i]} (first non-finite: "
                f"{self.what[i]}); its updates are frozen and it is left out of evaluations, the other "
                "seeds go on",
                file=sys.stderr,
            )
        self.diverged |= flags

    def count(self) -> int:
        return int(self.diverged.sum())

    def summary(self) -> str:
        parts = [f"{self.labels[i]} at env step {self.at[i]} ({self.what[i]})" for i in np.flatnonzero(self.diverged)]
        where = f"; last checkpoint in {self.where}" if self.where else ""
        return f"{self.count()} of {len(self.labels)} seeds diverged: " + ", ".join(parts) + where


def _records(seeds, env_steps, grad_steps, returns, window: dict, wall: float, divergence: _Divergence, rows: slice) -> list[dict]:
    """One point's records: ``seeds``, ``returns`` and ``window`` are that point's, ``rows`` its
    rows of the batch (for the divergence bookkeeping)."""
    out = []
    for i, seed in enumerate(seeds):
        row = rows.start + i
        dead = bool(divergence.diverged[row])
        rec = {
            "seed": seed,
            "env_steps": env_steps,
            "grad_steps": grad_steps,
            "eval_return": None if dead else float(returns[i].mean()),
            "eval_return_std": None if dead else float(returns[i].std()),
            "wall_time_s": round(wall, 3),
        }
        if dead:
            rec.update(diverged=True, diverged_at_env_steps=int(divergence.at[row]), first_nonfinite=divergence.what[row])
        for k, v in window.items():
            x = float(v[i])
            rec[k] = None if math.isnan(x) else x
        out.append(rec)
    return out

