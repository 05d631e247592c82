"""No compiled training step copies the replay buffer, at any seed count, env count or replay
kind. Programs are compiled from abstract shapes (nothing is allocated), so the buffers here have
the paper's 1M rows."""
import jax
import jax.numpy as jnp
import pytest

from experiments.configs import get_config
from largerl_jax import replay
from largerl_jax.training import make_driver
from largerl_jax.training.copy_audit import audit_replay_copies
from largerl_jax.training.host_loop import HostLoop

CAPACITY = 1_000_000


def _audit(cfg, num_seeds: int, phase: str = "train"):
    """The program's audit at CAPACITY rows; its temporaries must not grow with the capacity:
    from a tenth of the rows to all of them, by less than a thousandth of what the largest replay
    array grows (a copy would add all of it; the priority trees' per-level scratch adds a few KB
    for their 3 extra levels)."""
    audit = _audit_at(cfg, num_seeds, phase, CAPACITY)
    smaller = _audit_at(cfg, num_seeds, phase, CAPACITY // 10)
    growth = audit.largest_replay_array_bytes - smaller.largest_replay_array_bytes
    assert abs(audit.temp_bytes - smaller.temp_bytes) < growth / 1000, (audit.temp_bytes, smaller.temp_bytes)
    assert audit.temp_bytes < audit.largest_replay_array_bytes  # small networks here
    return audit


def _audit_at(cfg, num_seeds: int, phase: str, capacity: int):
    cfg.replay_capacity = capacity
    seeds = list(range(num_seeds))
    driver = make_driver(cfg, seeds)
    state = driver.abstract_state(jnp.stack([jax.random.PRNGKey(s) for s in seeds]), capacity)
    try:
        if isinstance(driver, HostLoop):
            n, spec = cfg.env.num_envs, driver.spec
            f32 = lambda *shape: jax.ShapeDtypeStruct((num_seeds, n, *shape), jnp.float32)
            batch = replay.Transition(obs=f32(spec.obs_dim), action=f32(spec.act_dim), reward=f32(),
                                      next_obs=f32(spec.obs_dim), terminated=f32(), truncated=f32())
            compiled = driver.learn_fn(phase).lower(state, batch).compile()
        else:
            compiled = driver.chunk_fn(4, phase).lower(state).compile()
    finally:
        driver.close()
    return audit_replay_copies(compiled, state.replay, capacity)


def _tiny_pendulum(num_envs: int, prioritized: bool):
    cfg = get_config("pendulum_sac")
    cfg.agent.actor.width = cfg.agent.critic.width = 8
    cfg.agent.batch_size = 32
    cfg.env.num_envs, cfg.updates_per_iteration = num_envs, 2
    cfg.prioritized_replay.enabled = prioritized
    return cfg


@pytest.mark.parametrize("prioritized", [False, True], ids=["uniform", "per"])
# one seed and one env, then several of both in one program (vmapped seeds, batched envs)
@pytest.mark.parametrize("num_seeds,num_envs", [(1, 1), (2, 4)])
def test_device_loop_updates_replay_in_place(prioritized, num_seeds, num_envs):
    audit = _audit(_tiny_pendulum(num_envs, prioritized), num_seeds)
    assert audit.ok, audit


@pytest.mark.parametrize("phase", ["warmup", "pretrain"])
def test_other_phases_update_replay_in_place(phase):
    cfg = _tiny_pendulum(1, prioritized=False)
    if phase == "pretrain":
        cfg.agent.features = "ofenet"
        cfg.agent.ofenet.num_layers, cfg.agent.ofenet.units = 1, 8
        cfg.agent.ofenet.batch_size = cfg.agent.batch_size
    assert _audit(cfg, 1, phase).ok


@pytest.mark.parametrize("prioritized", [False, True], ids=["uniform", "per"])
def test_host_loop_learn_updates_replay_in_place(prioritized):
    cfg = get_config("gym_ant_sac")
    cfg.prioritized_replay.enabled = prioritized
    audit = _audit(cfg, 1)
    assert audit.ok, audit
    assert audit.largest_replay_array_bytes == CAPACITY * 111 * 4  # observations, stored once


def test_host_loop_act_never_sees_the_replay():
    cfg = get_config("gym_ant_sac")
    driver = make_driver(cfg, [0])
    try:
        state = driver.abstract_state(jnp.stack([jax.random.PRNGKey(0)]), CAPACITY)
        obs = jax.ShapeDtypeStruct((1, 1, driver.spec.obs_dim), jnp.float32)
        lowered = driver.act_fn().lower(state.agent, state.key, obs)
    finally:
        driver.close()
    assert all(CAPACITY not in leaf.shape for leaf in jax.tree.leaves(lowered.args_info))


@pytest.mark.slow
def test_ant_sac_one_seed_updates_replay_in_place():
    """The configuration that copied before: MJX Ant, one seed, one env, 1M rows."""
    audit = _audit(get_config("ant_sac"), 1)
    assert audit.ok, audit


def test_audit_catches_a_copy():
    """A step that samples the buffer and then writes it without a data dependence between the
    two makes XLA copy the buffer: the audit must say so."""

    def chunk(buf, key):
        def body(buf, k):
            batch = buf[jax.random.randint(k, (32,), 0, buf.shape[0])]
            return buf.at[jax.random.randint(k, (), 0, buf.shape[0])].set(1.0), batch.sum()

        return jax.lax.scan(body, buf, jax.random.split(key, 4))

    buf = jax.ShapeDtypeStruct((CAPACITY, 3), jnp.float32)
    compiled = jax.jit(chunk, donate_argnums=0).lower(buf, jax.random.PRNGKey(0)).compile()
    audit = audit_replay_copies(compiled, {"rows": buf}, CAPACITY)
    assert audit.copies and not audit.ok
    assert audit.temp_bytes >= audit.largest_replay_array_bytes  # the copy's scratch
