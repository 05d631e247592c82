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
from largerl_jax.training.config import env_kwargs, pretrain_updates, validate
from largerl_jax.training.host_loop import HostLoop
from largerl_jax.training.learner import Learner
from largerl_jax.training.loop import DeviceLoop, SeedBatchedDeviceLoop
from largerl_jax.training.memory import check_fits, memory_report
from largerl_jax.training.run_files.outputs import Outputs, Point, config_json
from largerl_jax.training import devices, hyperparams, run_hooks
from largerl_jax.training.run_files import workdir as run_workdir
from largerl_jax.training.precision import matmul_precision
from largerl_jax.training.run_files.progress import Progress
from largerl_jax.training.run_files.wandb_log import WandbSettings
from largerl_jax.training.run_files.wandb_log import check_available as check_wandb


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
        return make_agent(run_hooks.agent_config_for_run(run_cfg), spec.obs_dim, spec.act_dim, spec.frame_shape)

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
        replay=replay_kind(agent.frame_stack, priority, cfg.get("nstep", 1)),
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
            one_seed_unbatched=cfg.get("one_seed_unbatched", True),
        )
    eval_env = make_env(cfg.env.name, cfg.env.eval_episodes, **env_options)
    return SeedBatchedDeviceLoop(DeviceLoop(learner=learner, env=env, eval_env=eval_env,
                                            one_seed_unbatched=cfg.get("one_seed_unbatched", True)))


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
    wandb: WandbSettings | None = None,
) -> list[dict]:
    """Train ``num_seeds`` seeds of ``cfg`` in one vmapped program. Returns every metrics record
    (one per seed and evaluation), which are also appended to ``workdir/metrics.jsonl``.

    ``stop_after_env_steps`` ends the process early at the first chunk boundary past it, as an
    interruption would (used to test resumption). ``after_chunk(ts, env_steps) -> ts``, if
    given, sees the train state after every chunk (fault injection in tests). Every program of
    the run is compiled under ``cfg.matmul_precision``.

    A seed whose losses or parameters become non-finite is frozen; its later records say when and
    what and carry its last evaluation before the crash (see ``_Divergence``).
    ``DivergenceError`` is raised only when every seed has diverged.

    ``wandb``: also send the records to Weights & Biases (training.run_files.wandb_log), one W&B run per
    seed; needs a ``workdir``.
    """
    return run_points([Point(cfg, workdir)], num_seeds, (), resume, progress, stop_after_env_steps, after_chunk,
                      wandb)[0]


def run_points(
    points: list[Point],
    num_seeds: int,
    carried: tuple[str, ...] = (),
    resume: bool = False,
    progress: bool = True,
    stop_after_env_steps: int | None = None,
    after_chunk=None,
    wandb: WandbSettings | None = None,
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
    if wandb is not None:
        if any(p.workdir is None for p in points):
            raise ValueError("W&B logging needs a workdir (it sends what metrics.jsonl records)")
        check_wandb()
    with matmul_precision(base.matmul_precision):
        return _run(points, num_seeds, tuple(carried), resume, progress, stop_after_env_steps, after_chunk, wandb)


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


def _run(points, num_seeds, carried, resume, progress, stop_after_env_steps, after_chunk, wandb=None) -> list[list[dict]]:
    """The schedule: open the batch (fresh or from its newest checkpoint), then per chunk train,
    let the run hooks reshape the agent, and at evaluation points record and checkpoint."""
    job = _Run.open(points, num_seeds, carried, resume, progress, wandb)
    budget = float(job.cfg.get("wall_time_budget_s", 0) or 0)
    # a resumed run that had already spent its wall-clock budget has nothing left to run
    end_segment = job.done_segments if budget and job.wall_offset >= budget else len(job.segments)
    try:
        for index in range(job.done_segments, end_segment):
            at_budget = False
            start, end, phase, metrics = job.train_chunk(index, after_chunk)
            last = index == len(job.segments) - 1
            if phase == "train":
                job.after_training_chunk(start, end, last)
            job.note_chunk(metrics, phase, start, end)
            eval_mean = None
            if last or _crossed(start, end, job.cfg.eval_every_env_steps):
                eval_mean = job.evaluate(end)
                at_budget = bool(budget) and job.wall >= budget
                if last or at_budget or _crossed(start, end, job.cfg.checkpoint_every_env_steps):
                    job.checkpoint(index, end)
            job.show_progress(index, end, eval_mean, last)
            if job.divergence.diverged.all():
                raise DivergenceError(job.divergence.summary())
            if at_budget or (stop_after_env_steps is not None and end >= stop_after_env_steps):
                break
    except Exception as e:
        if not run_workdir.is_disk_full(e):
            raise
        last_step = job.outputs.latest_checkpoint()
        kept = (f"the last complete checkpoint (env step {last_step}) is intact" if last_step is not None
                else "no checkpoint was completed")
        raise run_workdir.DiskFullError(
            f"disk full while writing to {job.outputs.describe()}: {kept}; free space and rerun with --resume",
        ) from e
    finally:
        job.close()
    return job.records


class _Run:
    """One seed-batch's run in progress: its config (which a reshaping run hook changes), driver,
    train state, run folders, and the bookkeeping between chunks. Row r of the batch is seed
    cfg.seed + (r % S) of point r // S, as in a run of that point alone."""

    def __init__(self, points, num_seeds, carried, outputs, progress):
        self.points, self.num_seeds, self.carried, self.outputs = points, num_seeds, carried, outputs
        self.cfg = points[0].cfg  # the shapes and schedule of every point
        self.seeds = [p.cfg.seed + i for p in points for i in range(num_seeds)]
        self.labels = [f"{'' if p.name is None else p.name + ' '}seed {p.cfg.seed + i}"
                       for p in points for i in range(num_seeds)]
        self.hparams = hyperparams.stacked([p.cfg for p in points], list(carried), num_seeds)
        self.build = functools.partial(make_driver, carried=carried)
        self.saved = {}  # the run hooks' agent-config overrides so far ({meta_key: overrides})
        self.progress = progress
        self.driver = None

    @classmethod
    def open(cls, points, num_seeds, carried, resume, progress, wandb=None) -> "_Run":
        if num_seeds < 1:
            raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
        cfg = points[0].cfg
        rows = len(points) * num_seeds
        devices.check_rows(rows, f"--seeds={num_seeds}" if len(points) == 1 else f"{len(points)} points x {num_seeds} seeds")
        if devices.multi_process() and (run_hooks.reshapes(cfg) or is_host_env_name(cfg.env.name)):
            raise ValueError("runs over several processes (jax.distributed) need on-device envs and no run hook that "
                             "reshapes the agent, such as pruning (reshaping reads the whole state on one host)")
        job = cls(points, num_seeds, carried, Outputs(points, num_seeds, resume, wandb), progress)
        try:
            job._start(resume)
        except BaseException:
            if job.driver is not None:
                job.driver.close()
            job.outputs.close()
            raise
        return job

    def _start(self, resume: bool) -> None:
        # Shapes only until the memory check has passed: making real keys already compiles.
        abstract_keys = jax.ShapeDtypeStruct((len(self.seeds), 2), jnp.uint32)
        resume_step = self.outputs.resume_step() if resume else None
        if resume_step is not None:
            self.saved = run_hooks.saved_overrides(self.outputs.meta_at(resume_step))
            self.cfg = run_hooks.restored_config(self.cfg, self.saved)
        self.driver = self.build(self.cfg, self.seeds)
        report, figures = estimate_memory(self.cfg, self.driver, abstract_keys, self.hparams)
        if self.progress:
            print(report, file=sys.stderr)
        check_fits(figures)
        self.segments = plan_segments(self.cfg)
        self.done_segments, self.wall_offset = 0, 0.0
        if resume_step is not None:
            ts, meta = self._restore(resume_step)
            self.done_segments, self.wall_offset = meta["segments_done"], meta["wall_time_s"]
            self.records = self.outputs.start_records(meta["env_steps"])
        else:
            keys = np.stack([np.asarray(jax.random.PRNGKey(s)) for s in self.seeds])
            ts = self.driver.init(devices.put_rows(keys), self.cfg.replay_capacity, devices.put_rows(self.hparams))
            self.records = self.outputs.start_records(None)
        self.ts = devices.put_rows(ts)
        n = self.cfg.env.num_envs
        self.env_steps = sum(s for s, phase in self.segments[:self.done_segments] if phase != "pretrain") * n
        self.bar = Progress(self.cfg.total_env_steps, enabled=self.progress)
        self.t_start = time.perf_counter()
        self.window = _Window()
        self.divergence = _Divergence(self.labels, self.driver.quantity_names(), self.outputs.checkpoint_dirs())
        for p, (point, kept) in enumerate(zip(self.points, self.records)):  # a resumed run's last evaluations
            for record in kept:
                self.divergence.recall(p * self.num_seeds + record["seed"] - point.cfg.seed, record)
        self.evals = _eval_metrics(self.cfg, self.driver)

    def _restore(self, step: int):
        point_hparams = [hyperparams.stacked([p.cfg], list(self.carried), self.num_seeds) for p in self.points]
        point_keys = jax.ShapeDtypeStruct((self.num_seeds, 2), jnp.uint32)
        try:
            return self.outputs.restore(
                lambda i: self.driver.abstract_state(point_keys, self.cfg.replay_capacity, point_hparams[i]), step)
        except RuntimeError as e:  # every complete checkpoint failed to load
            raise ValueError(f"{e}: they do not match this code's train state for this config (shapes or structure)") from e

    # --- per chunk -----------------------------------------------------------------------------

    def train_chunk(self, index: int, after_chunk):
        """Runs segment ``index``; returns (start, end env steps, phase, host metrics)."""
        iterations, phase = self.segments[index]
        start = self.env_steps
        self.ts, metrics = self.driver.chunk(self.ts, iterations, phase)
        metrics = _to_host(metrics)
        self.env_steps = start + (0 if phase == "pretrain" else iterations * self.cfg.env.num_envs)
        if after_chunk is not None:
            self.ts = after_chunk(self.ts, self.env_steps)
        return start, self.env_steps, phase, metrics

    def after_training_chunk(self, start: int, end: int, last: bool) -> None:
        """The run hooks' reshaping (pruning's shrink), with the driver rebuilt for it."""
        self.cfg, self.driver, ts, self.saved, reshaped = run_hooks.after_chunk(
            self.cfg, self.driver, self.ts, self.build, self.seeds, start, end, last, self.saved)
        if reshaped:
            self.ts = devices.put_rows(ts)
            self.evals = _eval_metrics(self.cfg, self.driver)

    def note_chunk(self, metrics: dict, phase: str, start: int, end: int) -> None:
        self.divergence.update(metrics, start)
        invalid = metrics.get("env_invalid_steps")  # absent in pre-training chunks: no env steps
        if invalid is not None and invalid.any():
            counts = {label: c for label, c in zip(self.labels, invalid.astype(int).tolist()) if c}
            print(f"warning: simulator produced non-finite states (reset as terminations) between env "
                  f"steps {start} and {end}: {counts}", file=sys.stderr)
        self.window.add(metrics, phase)
        self.grad_steps = int(devices.to_host(self.ts.grad_steps)[0])

    def evaluate(self, env_steps: int) -> float | None:
        """Evaluates every row, appends each point's records; returns the healthy rows' mean."""
        returns = devices.to_host(self.driver.evaluate(self.ts)).astype(np.float64)  # [P*S, E]
        self.wall = self.wall_offset + time.perf_counter() - self.t_start
        stats = self.window.means()
        for fn in self.evals:
            stats.update(_to_host(fn(self.ts)))
        stats.update(run_hooks.evaluation_stats(self.cfg, self.driver, self.ts))
        s = self.num_seeds
        for p in range(len(self.points)):
            rows_p = slice(p * s, (p + 1) * s)
            new = _records(self.seeds[rows_p], env_steps, self.grad_steps, returns[rows_p],
                           {k: v[rows_p] for k, v in stats.items()}, self.wall, self.divergence, rows_p)
            self.records[p] += new
            self.outputs.append_records(p, new)
        self.divergence.note_evaluation(returns, env_steps)
        healthy = ~self.divergence.diverged
        return float(returns[healthy].mean()) if healthy.any() else None

    def checkpoint(self, index: int, env_steps: int) -> None:
        if not self.outputs.enabled:
            return
        meta = {"segments_done": index + 1, "env_steps": env_steps, "wall_time_s": self.wall,
                **run_hooks.checkpoint_meta(self.saved)}
        if self.carried:  # tools that read a point's folder rebuild its train state with them
            meta[hyperparams.META_KEY] = list(self.carried)
        self.outputs.save(env_steps, self.ts, meta)

    def show_progress(self, index: int, env_steps: int, eval_mean: float | None, last: bool) -> None:
        phase = self.segments[index][1]
        note = (f"pre-training {phase_done(self.segments, index)}/{pretrain_updates(self.cfg)} updates"
                if phase == "pretrain" else "")
        phase_end = last or self.segments[index + 1][1] != phase  # each phase's last line is always shown
        self.bar.update(env_steps, self.grad_steps, eval_return=eval_mean, force=phase_end or eval_mean is not None, note=note)

    def close(self) -> None:
        self.bar.close()
        self.driver.close()
        self.outputs.close()


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
    warns once per seed when it happens, and keeps each seed's last evaluation from before it.

    Bjorck et al.'s protocol: "If learning crashes before 500,000 steps ..., we report the
    performance before the crash". A diverged seed's later records carry its last finite
    evaluation (``eval_carried``, ``eval_carried_from_env_steps``), so means, best scores and
    tables count it instead of silently dropping the seed; its frozen agent is not evaluated."""

    def __init__(self, labels: list[str], names: list[str], where: str):
        self.labels, self.names, self.where = labels, names, where
        self.diverged = np.zeros(len(labels), bool)
        self.at = np.full(len(labels), -1)
        self.what: list[str | None] = [None] * len(labels)
        self.last_mean = np.full(len(labels), np.nan)  # each row's last evaluation before diverging
        self.last_std = np.full(len(labels), np.nan)
        self.last_at = np.full(len(labels), -1)

    def note_evaluation(self, returns: np.ndarray, env_steps: int) -> None:
        """``returns`` [rows, episodes] of an evaluation: kept for the rows still healthy."""
        healthy = ~self.diverged
        self.last_mean[healthy] = returns[healthy].mean(axis=1)
        self.last_std[healthy] = returns[healthy].std(axis=1)
        self.last_at[healthy] = env_steps

    def recall(self, row: int, record: dict) -> None:
        """A resumed run: ``record``, a record of ``row`` written before, as its last evaluation
        if it is one of its own (not carried)."""
        if record.get("eval_return") is not None and not record.get("eval_carried"):
            self.last_mean[row], self.last_std[row] = record["eval_return"], record["eval_return_std"]
            self.last_at[row] = record["env_steps"]

    def update(self, metrics: dict, start: int) -> None:
        flags = metrics["diverged"].astype(bool)
        for i in np.flatnonzero(flags & ~self.diverged):
            self.at[i] = int(metrics["diverged_at"][i])
            index = int(metrics["diverged_what"][i])
            self.what[i] = self.names[index] if 0 <= index < len(self.names) else f"quantity #{index}"
            print(
                f"warning: {self.labels[i]} diverged at env step {self.at[i]} (first non-finite: "
                f"{self.what[i]}); its updates are frozen and its records carry its last evaluation, the "
                "other seeds go on",
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
            "eval_return": float(returns[i].mean()),
            "eval_return_std": float(returns[i].std()),
            "wall_time_s": round(wall, 3),
        }
        if dead:
            carried = divergence.last_at[row] >= 0  # none when it diverged before its first evaluation
            rec.update(eval_return=float(divergence.last_mean[row]) if carried else None,
                       eval_return_std=float(divergence.last_std[row]) if carried else None)
            if carried:
                rec.update(eval_carried=True, eval_carried_from_env_steps=int(divergence.last_at[row]))
            rec.update(diverged=True, diverged_at_env_steps=int(divergence.at[row]), first_nonfinite=divergence.what[row])
        for k, v in window.items():
            x = float(v[i])
            rec[k] = None if math.isnan(x) else x
        out.append(rec)
    return out

