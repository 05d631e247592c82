"""Config knobs for accelerators: matmul precision and the memory estimate."""
import math

import jax
import jax.numpy as jnp
import pytest

from experiments.configs import get_config
from largerl_jax import replay
from largerl_jax.agents import make_agent
from largerl_jax.training import make_driver, run, validate
from largerl_jax.training.memory import check_fits, state_bytes
from largerl_jax.training.precision import matmul_precision
from largerl_jax.training.runner import estimate_memory


def _dots(jaxpr):
    """Every dot_general in a jaxpr, nested calls (pjit, custom_jvp, scans) included."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            yield eqn
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else [value]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    yield from _dots(inner)


@pytest.mark.parametrize(
    "name,expected",
    [("default", "None"), ("highest", "HIGHEST"), ("tf32", "HIGH"), ("bf16", "BF16_BF16_F32")],
)
def test_matmul_precision_reaches_every_dot(name, expected):
    cfg = get_config("pendulum_sac")
    agent = make_agent(cfg.agent, 3, 1)
    state = jax.eval_shape(agent.init, jax.random.PRNGKey(0))
    obs = jnp.zeros((4, 3))
    with matmul_precision(name):
        jaxpr = jax.make_jaxpr(lambda s, o: agent.act(s, o, jax.random.PRNGKey(0), True))(state, obs)
    dots = list(_dots(jaxpr.jaxpr))
    assert len(dots) >= 3  # the actor's layers
    for eqn in dots:
        assert expected in str(eqn.params["precision"]), eqn.params["precision"]


def test_bad_knobs_are_refused(tiny_pendulum):
    cfg = tiny_pendulum()
    cfg.matmul_precision = "fp8"
    with pytest.raises(ValueError, match="matmul_precision"):
        validate(cfg)
    cfg = tiny_pendulum()
    cfg.replay_capacity = 1002  # 4 envs: not one ring per env
    with pytest.raises(ValueError, match="multiple of env.num_envs"):
        validate(cfg)


def test_memory_estimate_adds_up_and_refuses_what_cannot_fit(tiny_pendulum):
    cfg = tiny_pendulum()
    keys = jnp.stack([jax.random.PRNGKey(s) for s in range(3)])
    driver = make_driver(cfg, [0, 1, 2])
    text, figures = estimate_memory(cfg, driver, keys)
    abstract = driver.abstract_state(keys, cfg.replay_capacity)
    parts = state_bytes(abstract)
    assert parts["total"] == sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(abstract))
    rows = 3 * cfg.replay_capacity
    assert rows * replay.bytes_per_transition(3, 1) <= parts["replay"] < rows * replay.bytes_per_transition(3, 1) + 1000
    # Adam keeps two moments per trainable parameter; parameters also count the target critic
    assert 0 < parts["parameters"] < parts["optimizer"] < 2 * parts["parameters"]
    assert "per seed: replay" in text and "3 seed(s)" in text
    check_fits(figures)  # tiny: fits

    cfg.replay_capacity = 1_500_000_000  # 1.5G rows x 23 B: 34 GB, more than this machine has
    figures = estimate_memory(cfg, make_driver(cfg, [0]), keys[:1])[1]
    with pytest.raises(MemoryError, match="replay_capacity"):
        check_fits({**figures, "limit": 24 * 2**30})
    with pytest.raises(MemoryError):
        run(cfg, num_seeds=1, progress=False)  # refused before anything is allocated
