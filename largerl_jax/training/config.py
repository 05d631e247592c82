"""The run-level configuration shared by every experiment, and its validation."""
from __future__ import annotations

import ml_collections

from largerl_jax.agents import agent_families, agent_family, feature_kinds, lr_schedule, obs_norm, resets, reward_norm
from largerl_jax.agents import pretrain_updates as agent_pretrain_updates
from largerl_jax.agents.td import CRITIC_LOSSES
from largerl_jax.configdict import is_int
from largerl_jax.envs import check_env
from largerl_jax.envs.registry import is_pixel_env_name, supports_action_repeat
from largerl_jax.networks import validate_torso_config
from largerl_jax.networks.heads import LOG_STD_BOUNDS
from largerl_jax.training import run_hooks
from largerl_jax.training.precision import validate_matmul_precision

_CHOICES = {"critic_loss": CRITIC_LOSSES, "log_std_bound": LOG_STD_BOUNDS}


def pretrain_updates(cfg) -> int:
    """Updates of the agent's pre-training phase, run after warm-up without env steps, as the
    agent's feature kind declares them (agents.family.FeatureKind.pretrain_updates)."""
    return agent_pretrain_updates(cfg.agent)


def env_kwargs(cfg) -> dict:
    """The env options of a run config, as ``envs.make_env`` takes them."""
    kwargs = dict(backend=cfg.env.backend, episode_length=cfg.env.episode_length)
    if cfg.env.get("action_repeat", 1) != 1:  # only envs that support it take the argument
        kwargs["action_repeat"] = cfg.env.action_repeat
    return kwargs


def run_config(agent: str, env: str = "pendulum") -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict()
    cfg.name = f"{env}_{agent}"
    cfg.seed = 0  # seed i of a multi-seed run uses PRNGKey(seed + i)

    cfg.env = ml_collections.ConfigDict()
    cfg.env.name = env  # see largerl_jax.envs.available_envs()
    cfg.env.backend = ml_collections.FieldReference(None, field_type=str)  # Brax: mjx|generalized|positional|spring
    # None: the task's own limit. In simulator steps: with action_repeat R the agent sees
    # episodes of ceil(episode_length / R) steps.
    cfg.env.episode_length = ml_collections.FieldReference(None, field_type=int)
    cfg.env.num_envs = 1  # N parallel envs stepped per iteration, each with the latest policy
    # Simulator steps per agent step (the action is held, rewards summed; an episode end stops
    # the repeat). Every *_env_steps field and replay row counts agent steps, so a budget of
    # env samples (Bjorck et al. count 500K with repeat 2) is total_env_steps x action_repeat.
    cfg.env.action_repeat = 1
    cfg.env.eval_episodes = 10  # E deterministic evaluation episodes per seed, run in parallel

    cfg.agent = agent_family(agent).config()

    cfg.total_env_steps = 1_000_000  # summed over the N envs
    cfg.warmup_env_steps = 10_000  # uniform random actions, no updates (Ota et al.: 10K SAC, 100K TD3)
    cfg.updates_per_iteration = 1  # U gradient steps after each N-env step: UTD ratio = U / N
    cfg.replay_capacity = 1_000_000  # transitions per seed (bytes: replay.bytes_per_transition)
    # Proportional prioritized replay (Schaul et al. 2016); Ota et al.'s Ape-X learner samples
    # prioritized. Defaults are Schaul et al.'s proportional-variant values.
    cfg.prioritized_replay = ml_collections.ConfigDict()
    cfg.prioritized_replay.enabled = False
    cfg.prioritized_replay.alpha = 0.6  # priority exponent
    cfg.prioritized_replay.beta0 = 0.4  # importance-weight exponent at the start, annealed to 1
    cfg.prioritized_replay.eps = 1e-6  # added to |TD error| so no transition gets zero priority
    # n-step returns (replay.nstep): the agent's TD batches sum up to n discounted rewards and
    # bootstrap from the n-th next observation, stopping exactly at episode ends and at the
    # ring's write position. 1: one-step TD (every paper reproduced here); FastTD3 uses 3 on
    # some tasks. Auxiliary models (OFENet) keep one-step transitions.
    cfg.nstep = 1

    # Accelerator knobs (see largerl_jax/training/precision.py).
    # 'default' | 'highest' | 'tf32' | 'bf16': precision of every matrix multiply. 'default' is
    # the backend's (TF32 on recent NVIDIA GPUs, float32 on CPU); 'bf16' multiplies bfloat16
    # inputs into float32 while parameters and optimizer states stay float32.
    cfg.matmul_precision = "default"
    # A run of one seed compiles its act, store and update unvmapped (training.seed_map): XLA:CPU
    # runs a batch-1 vmapped update up to 2x slower. False keeps the vmapped program (its records
    # may differ in the last bits, and so drift over a long run).
    cfg.one_seed_unbatched = True
    # Throughput on a GPU comes from many envs and large batches at a low update-to-data ratio
    # (FastTD3-style): env.num_envs in the thousands, agent.batch_size in the thousands, and
    # updates_per_iteration U a few per iteration (UTD = U / num_envs); see the *_fast configs.

    # Exact largest singular value of every Dense layer (SVD of the applied map) in each
    # evaluation record, 'sv/<network>/<layer>' (Bjorck et al. Fig. 5); costs SVDs at evaluation
    # time only.
    cfg.log_singular_values = False
    # Effective rank srank_0.01 (Kumar et al. 2021; Ota et al. 2021 Sec. 4.1, App. A.4) of the
    # critic's penultimate features, on this many stored transitions drawn with a fixed key, in
    # every evaluation record ('srank', 'srank/q<i>'); one SVD per critic at evaluation time. 0: off.
    cfg.srank_batch_size = 256
    cfg.log_every_env_steps = 5_000  # length of one compiled chunk; the progress bar updates per chunk
    cfg.eval_every_env_steps = 5_000  # evaluation cadence (also at the end of the run)
    cfg.checkpoint_every_env_steps = 100_000  # must be a multiple of the eval cadence; 0 = only at the end
    # A wall-clock budget in seconds (0: none): training ends at the first evaluation at which the
    # run's wall time (resumed runs count their earlier time) has reached it, and that evaluation
    # is checkpointed, so studies can compare methods at equal wall time (the parallel regime's
    # claim). Its records are the run's last; total_env_steps stays the upper bound.
    cfg.wall_time_budget_s = 0.0
    return cfg


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def validate(cfg: ml_collections.ConfigDict) -> None:
    """Raise ValueError (one line, every problem listed) for any inconsistent setting, and
    ImportError when the env needs a package that is not installed; nothing is built."""
    n = cfg.env.num_envs
    problems = []
    repeat = cfg.env.get("action_repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        problems.append(f"env.action_repeat={repeat!r} must be a positive int")
    elif repeat != 1 and not supports_action_repeat(str(cfg.env.name)):
        problems.append(f"env.action_repeat={repeat} is not supported for env {cfg.env.name!r} (its family "
                        "takes no action repeat); use 1")
    if not isinstance(n, int) or n <= 0 or cfg.env.eval_episodes <= 0:
        problems.append(f"env.num_envs={n} and env.eval_episodes={cfg.env.eval_episodes} must be positive")
        n = 1  # so the multiple-of checks below still run
    for field in ("total_env_steps", "log_every_env_steps", "eval_every_env_steps"):
        if cfg[field] <= 0:
            problems.append(f"{field} must be positive (got {cfg[field]})")
        elif cfg[field] % n:
            problems.append(f"{field}={cfg[field]} must be a multiple of env.num_envs={n}")
    if cfg.warmup_env_steps % n or cfg.warmup_env_steps < 0:
        problems.append(f"warmup_env_steps={cfg.warmup_env_steps} must be a non-negative multiple of env.num_envs={n}")
    if cfg.warmup_env_steps >= cfg.total_env_steps > 0:
        problems.append(
            f"warmup_env_steps={cfg.warmup_env_steps} leaves no training in total_env_steps={cfg.total_env_steps}"
        )
    budget = cfg.get("wall_time_budget_s", 0)
    if not _is_number(budget) or budget < 0:
        problems.append(f"wall_time_budget_s={budget!r} must be a number of seconds >= 0 (0: no budget)")
    srank_rows = cfg.get("srank_batch_size", 0)
    if isinstance(srank_rows, bool) or not isinstance(srank_rows, int) or srank_rows < 0:
        problems.append(f"srank_batch_size={srank_rows!r} must be a non-negative int (0: no effective rank)")
    if cfg.agent.batch_size <= 0:
        problems.append(f"agent.batch_size must be positive (got {cfg.agent.batch_size})")
    elif cfg.warmup_env_steps < cfg.agent.batch_size:
        problems.append(
            f"warmup_env_steps={cfg.warmup_env_steps} must be at least agent.batch_size={cfg.agent.batch_size} "
            "so the first update samples a full batch of distinct transitions"
        )
    if cfg.updates_per_iteration < 1:
        problems.append("updates_per_iteration must be >= 1")
    if cfg.replay_capacity < max(2 * n, cfg.agent.batch_size):
        problems.append(
            f"replay_capacity={cfg.replay_capacity} must be at least batch_size={cfg.agent.batch_size} and "
            f"2 x env.num_envs={2 * n} (each env's ring holds a transition and its next observation)"
        )
    elif cfg.replay_capacity % n:
        problems.append(
            f"replay_capacity={cfg.replay_capacity} must be a multiple of env.num_envs={n} "
            "(the replay is one ring of rows per env)"
        )
    for field, low, high in (("gamma", 0.0, 1.0), ("tau", 0.0, 1.0)):
        value = cfg.agent.get(field)
        if value is not None and not (_is_number(value) and low < value <= high):
            problems.append(f"agent.{field}={value!r} must be in ({low:g}, {high:g}]")
    families = agent_families()
    family = families.get(cfg.agent.name)
    for field in () if family is None else family.learning_rates:
        value = cfg.agent.get(field)
        if value is not None and not (_is_number(value) and 0 < value < float("inf")):
            problems.append(f"agent.{field}={value!r} must be a positive finite number")
    try:
        check_env(cfg.env.name, cfg.env.backend)
    except ValueError as e:
        problems.append(str(e))
    try:
        validate_matmul_precision(cfg.matmul_precision)
    except ValueError as e:
        problems.append(str(e))
    ck = cfg.checkpoint_every_env_steps
    if ck < 0 or (ck and cfg.eval_every_env_steps > 0 and ck % cfg.eval_every_env_steps):
        problems.append(
            f"checkpoint_every_env_steps={ck} must be 0 or a multiple of eval_every_env_steps="
            f"{cfg.eval_every_env_steps} (checkpoints are taken at evaluation points)"
        )
    agent = cfg.agent
    if family is None:
        problems.append(f"agent.name={agent.name!r} unknown; available: {sorted(families)}")
    kinds = feature_kinds()
    for field, allowed in {**_CHOICES, "features": tuple(kinds)}.items():
        if field in agent and agent[field] not in allowed:
            problems.append(f"agent.{field}={agent[field]!r} not one of {list(allowed)}")
    for net in () if family is None else family.networks:
        if net in agent:
            try:
                validate_torso_config(agent[net])
            except ValueError as e:
                problems.append(f"agent.{net}: {e}")
    kind = kinds.get(agent.get("features", "raw"))
    if kind is not None and kind.validate is not None:
        problems += kind.validate(agent)
    if family is not None and family.validate is not None:
        problems += family.validate(agent)
    if family is not None:
        problems += obs_norm.validate(agent, family.reads_frames) + resets.validate(agent, family.reads_frames)
        problems += reward_norm.validate(agent, family.reads_frames)
        if lr_schedule.is_scheduled(agent) and not family.schedules_lr:
            problems.append(f"agent.lr_schedule.kind={agent.lr_schedule.kind!r}: agent {agent.name!r} has no "
                            "learning-rate schedules (its families with them: "
                            f"{sorted(n for n, f in families.items() if f.schedules_lr)})")
    problems += run_hooks.validate(cfg)
    if agent.get("critic_loss") == "huber" and not (_is_number(agent.huber_delta) and agent.huber_delta > 0):
        problems.append(f"agent.huber_delta={agent.huber_delta!r} must be positive")
    nstep = cfg.get("nstep", 1)
    if not is_int(nstep) or nstep < 1:
        problems.append(f"nstep={nstep!r} must be an integer >= 1")
    per = cfg.prioritized_replay
    pixel_env, pixel_agent = is_pixel_env_name(str(cfg.env.name)), family is not None and family.reads_frames
    if family is not None and pixel_env != pixel_agent:
        readers = " or ".join(sorted(n for n, f in families.items() if f.reads_frames))
        problems.append(
            f"agent.name={agent.name!r} and env.name={cfg.env.name!r} do not match: pixel envs "
            f"(dmc_pixels/...) need agent {readers}, which reads no other env"
        )
    if (pixel_env or pixel_agent) and per.enabled:
        problems.append("prioritized_replay.enabled is not supported from pixels (the frame replay samples uniformly)")
    if family is not None and agent.get("features", "raw") not in family.features:
        problems.append(f"agent {agent.name} needs agent.features in {list(family.features)}, not "
                        f"{agent.get('features', 'raw')!r}")
    if pixel_env and cfg.env.num_envs * (agent.get("frame_stack", 3) + 2) > cfg.replay_capacity:
        problems.append(
            f"replay_capacity={cfg.replay_capacity} must hold frame_stack + 2 rows per env "
            f"({cfg.env.num_envs} envs) for the frame replay"
        )
    if not 0.0 <= per.alpha <= 1.0 or not 0.0 <= per.beta0 <= 1.0 or per.eps <= 0:
        problems.append("prioritized_replay needs 0 <= alpha <= 1, 0 <= beta0 <= 1, eps > 0")
    if problems:
        raise ValueError(f"invalid config {cfg.get('name', '?')!r}: " + "; ".join(problems))
