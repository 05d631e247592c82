"""Host-side orchestration of a multi-seed run: schedule of compiled chunks, evaluation, metrics
files, checkpoints and resumption. Everything per-step happens inside the compiled chunks."""
from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax import replay
from largerl_jax.agents import make_agent
from largerl_jax.envs import is_host_env, make_env
from largerl_jax.networks import dense_singular_values
from largerl_jax.replay import frames
from largerl_jax.training import records as metrics_io
from largerl_jax.training.checkpoint import Checkpointer
from largerl_jax.training.config import agent_config_for_run, env_kwargs, pretrain_updates, validate
from largerl_jax.training.host_loop import HostLoop
from largerl_jax.training.learner import Learner, PrioritySettings
from largerl_jax.training.loop import DeviceLoop, SeedBatchedDeviceLoop
from largerl_jax.training.memory import check_fits, memory_report
from largerl_jax.training import shrinking
from largerl_jax.training import workdir as run_workdir
from largerl_jax.training.precision import matmul_precision
from largerl_jax.training.progress import Progress


class DivergenceError(RuntimeError):
    """A seed's parameters became NaN/inf."""


def make_driver(cfg, seeds: list[int]):
    """The seed-batched training driver for cfg: on-device envs (jit(vmap(scan))) or host envs."""
    env_options = env_kwargs(cfg)
    env = make_env(cfg.env.name, cfg.env.num_envs, seed=seeds[0], **env_options)
    agent = make_agent(agent_config_for_run(cfg), env.spec.obs_dim, env.spec.act_dim, env.spec.frame_shape)
    if pretrain_updates(cfg) and agent.pretrain is None:
        raise ValueError(f"agent {agent.name!r} has no pre-training phase")
    priority = None
    if cfg.prioritized_replay.enabled:
        per = cfg.prioritized_replay
        train_iters = max(math.ceil((cfg.total_env_steps - cfg.warmup_env_steps) / cfg.env.num_envs), 1)
        priority = PrioritySettings(per.alpha, per.beta0, per.eps, train_iters * cfg.updates_per_iteration)
    learner = Learner(
        agent=agent,
        batch_size=cfg.agent.batch_size,
        updates_per_iteration=cfg.updates_per_iteration,
        num_envs=cfg.env.num_envs,
        priority=priority,
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


def _config_json(cfg) -> str:
    return cfg.to_json_best_effort(indent=2, sort_keys=True)


def _read_records(path: str) -> list[dict]:
    return metrics_io.read(path)


def _to_host(metrics: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in metrics.items()}


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
    validate(cfg)
    with matmul_precision(cfg.matmul_precision):
        return _run(cfg, workdir, num_seeds, resume, progress, stop_after_env_steps, after_chunk)


def estimate_memory(cfg, driver, keys) -> tuple[str, dict]:
    """The train state's memory, from abstract shapes (nothing allocated)."""
    abstract = driver.abstract_state(keys, cfg.replay_capacity)
    spec = driver.spec
    if spec.frame_shape is not None:
        row_bytes = frames.bytes_per_transition(spec.act_dim, spec.frame_shape)
    else:
        row_bytes = replay.bytes_per_transition(spec.obs_dim, spec.act_dim)
    # validate() makes replay_capacity a multiple of num_envs, so every configured row exists
    return memory_report(abstract, len(keys), cfg.replay_capacity, row_bytes)


def _run(cfg, workdir, num_seeds, resume, progress, stop_after_env_steps, after_chunk) -> list[dict]:
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    devices = jax.devices()
    if len(devices) > 1 and num_seeds % len(devices):
        raise ValueError(
            f"--seeds={num_seeds} must be a multiple of the {len(devices)} devices: seeds are split evenly "
            "over the devices"
        )
    metrics_path = ckpt = None
    if workdir:
        run_workdir.prepare(workdir, json.loads(_config_json(cfg)), num_seeds, resume, cfg.matmul_precision)
        metrics_path = os.path.join(workdir, "metrics.jsonl")
        ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    elif resume:
        raise ValueError("--resume needs --workdir")
    seeds = [cfg.seed + i for i in range(num_seeds)]
    # Shapes only until the memory check has passed: making real keys already compiles.
    abstract_keys = jax.ShapeDtypeStruct((num_seeds, 2), jnp.uint32)
    agent_widths = None  # the networks' widths once pruning has shrunk them (checkpoint metadata)
    if resume and ckpt.latest_step() is not None:
        agent_widths = (ckpt.latest_meta() or {}).get(shrinking.META_KEY)
        cfg = shrinking.with_widths(cfg, agent_widths)

    driver = make_driver(cfg, seeds)
    try:
        report, figures = estimate_memory(cfg, driver, abstract_keys)
        if progress:
            print(report, file=sys.stderr)
        check_fits(figures)
    except MemoryError:
        driver.close()
        raise
    segments = plan_segments(cfg)
    n = cfg.env.num_envs
    done_segments, wall_offset = 0, 0.0
    records: list[dict] = []

    if resume and ckpt.latest_step() is not None:
        try:
            ts, meta = ckpt.restore(driver.abstract_state(abstract_keys, cfg.replay_capacity))
        except RuntimeError as e:  # every complete checkpoint failed to load
            driver.close()
            raise ValueError(f"{e}: they do not match this code's train state for this config (shapes or structure)") from e
        done_segments, wall_offset = meta["segments_done"], meta["wall_time_s"]
        env_steps_ckpt = meta["env_steps"]
        records = metrics_io.truncate_to(metrics_path, env_steps_ckpt)
    else:
        ts = driver.init(jnp.stack([jax.random.PRNGKey(s) for s in seeds]), cfg.replay_capacity)
        if metrics_path:
            _write_records(metrics_path, [], mode="w")

    ts = _shard_seeds(ts)
    env_steps = sum(s for s, phase in segments[:done_segments] if phase != "pretrain") * n
    bar = Progress(cfg.total_env_steps, enabled=progress)
    t_start = time.perf_counter()
    window = _Window()
    divergence = _Divergence(seeds, driver.quantity_names(), workdir)
    spectra = singular_value_fn(driver.agent) if cfg.get("log_singular_values") else None
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
                cfg, driver, ts, agent_widths = shrinking.shrink(cfg, driver, ts, make_driver, seeds)
                ts = _shard_seeds(ts)
                spectra = singular_value_fn(driver.agent) if cfg.get("log_singular_values") else None
            divergence.update(metrics, start)
            invalid = metrics.get("env_invalid_steps")  # absent in pre-training chunks: no env steps
            if invalid is not None and invalid.any():
                counts = dict(zip(seeds, invalid.astype(int).tolist()))
                print(
                    f"warning: simulator produced non-finite states (reset as terminations) between env "
                    f"steps {start} and {env_steps}, per seed: {counts}",
                    file=sys.stderr,
                )
            window.add(metrics, phase)
            eval_mean = None
            grad_steps = int(np.asarray(ts.grad_steps)[0])
            if last or _crossed(start, env_steps, cfg.eval_every_env_steps):
                returns = np.asarray(driver.evaluate(ts), dtype=np.float64)  # [S, E]
                wall = wall_offset + time.perf_counter() - t_start
                stats = window.means()
                if spectra is not None:
                    stats.update({k: np.asarray(v, np.float64) for k, v in spectra(ts.agent).items()})
                if shrinking.pruning_enabled(cfg):
                    stats.update(shrinking.param_counts(cfg, driver, ts))
                new = _records(seeds, env_steps, grad_steps, returns, stats, wall, divergence)
                records += new
                if metrics_path:
                    _write_records(metrics_path, new, mode="a")
                healthy = ~divergence.diverged
                eval_mean = float(returns[healthy].mean()) if healthy.any() else None
                if ckpt and (last or _crossed(start, env_steps, cfg.checkpoint_every_env_steps)):
                    meta = {"segments_done": index + 1, "env_steps": env_steps, "wall_time_s": wall}
                    if agent_widths:
                        meta[shrinking.META_KEY] = {k: list(v) for k, v in agent_widths.items()}
                    ckpt.save(env_steps, ts, meta)
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
        last = ckpt.latest_step() if ckpt else None
        kept = f"the last complete checkpoint (env step {last}) is intact" if last is not None else "no checkpoint was completed"
        raise run_workdir.DiskFullError(
            f"disk full while writing to {workdir}: {kept}; free space and rerun with --resume",
        ) from e
    finally:
        bar.close()
        driver.close()
        if ckpt:
            ckpt.close()
    return records


def _shard_seeds(ts):
    """Seeds are independent: with several devices, split them over the devices."""
    if len(jax.devices()) == 1:
        return ts
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("seeds",))
    return jax.device_put(ts, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds")))


def singular_value_fn(agent):
    """Jitted: seed-batched agent state -> {'sv/<network>/<layer>': [S]} (see
    networks.dense_singular_values)."""

    def one_seed(agent_state):
        return {
            f"sv/{net}/{layer}": value
            for net, (_, variables) in agent.networks(agent_state).items()
            for layer, value in dense_singular_values(variables).items()
        }

    return jax.jit(jax.vmap(one_seed))


class _Divergence:
    """Per-seed divergence, read from the train state's record (see training.learner.Learner):
    warns once per seed when it happens; a diverged seed's later records carry no evaluation."""

    def __init__(self, seeds: list[int], names: list[str], workdir: str | None):
        self.seeds, self.names, self.workdir = seeds, names, workdir
        self.diverged = np.zeros(len(seeds), bool)
        self.at = np.full(len(seeds), -1)
        self.what: list[str | None] = [None] * len(seeds)

    def update(self, metrics: dict, start: int) -> None:
        flags = metrics["diverged"].astype(bool)
        for i in np.flatnonzero(flags & ~self.diverged):
            self.at[i] = int(metrics["diverged_at"][i])
            index = int(metrics["diverged_what"][i])
            self.what[i] = self.names[index] if 0 <= index < len(self.names) else f"quantity #{index}"
            print(
                f"warning: seed {self.seeds[i]} diverged at env step {self.at[i]} (first non-finite: "
                f"{self.what[i]}); its updates are frozen and it is left out of evaluations, the other "
                "seeds go on",
                file=sys.stderr,
            )
        self.diverged |= flags

    def count(self) -> int:
        return int(self.diverged.sum())

    def summary(self) -> str:
        parts = [f"seed {self.seeds[i]} at env step {self.at[i]} ({self.what[i]})" for i in np.flatnonzero(self.diverged)]
        where = f"; last checkpoint in {self.workdir}/checkpoints" if self.workdir else ""
        return f"{self.count()} of {len(self.seeds)} seeds diverged: " + ", ".join(parts) + where


def _records(seeds, env_steps, grad_steps, returns, window: dict, wall: float, divergence: _Divergence) -> list[dict]:
    out = []
    for i, seed in enumerate(seeds):
        dead = bool(divergence.diverged[i])
        rec = {
            "seed": seed,
            "env_steps": env_steps,
            "grad_steps": grad_steps,
            "eval_return": None if dead else float(returns[i].mean()),
            "eval_return_std": None if dead else float(returns[i].std()),
            "wall_time_s": round(wall, 3),
        }
        if dead:
            rec.update(diverged=True, diverged_at_env_steps=int(divergence.at[i]), first_nonfinite=divergence.what[i])
        for k, v in window.items():
            x = float(v[i])
            rec[k] = None if math.isnan(x) else x
        out.append(rec)
    return out


def _write_records(path: str | None, records: list[dict], mode: str) -> None:
    if path is None:
        return
    if mode == "a":
        metrics_io.append(path, records)
    else:
        metrics_io.write(path, records)


def iter_records(path: str) -> Iterator[dict]:
    yield from _read_records(path)
