"""Effective rank (Kumar et al. 2021): matrices of known singular values, and one seed's critic
read through its probe, jitted and vmapped over seeds as a trainer would call it."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.analysis import critic_srank, srank
from largerl_jax.networks import Torso
from fake_transitions import gaussian

OBS, ACT, B = 5, 2, 64


def _with_singular_values(s, rows=40, cols=12, seed=0):
    """U diag(s) V^T with orthonormal U [rows, len(s)] and V [cols, len(s)]."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((rows, len(s))))
    v, _ = np.linalg.qr(rng.standard_normal((cols, len(s))))
    return jnp.asarray(u @ np.diag(s) @ v.T, jnp.float32)


@pytest.mark.parametrize("s, delta, expected", [
    ([4, 3, 2, 1], 0.01, 4),  # 9 of 10 falls short of 9.9
    ([4, 3, 2, 1], 0.15, 3),  # 9 >= 8.5
    ([4, 3, 2, 1], 0.35, 2),  # 7 >= 6.5
    ([5, 4, 0.04, 0.01], 0.01, 2),  # the tail is under 1% of 9.05
    ([5, 4, 0.04, 0.01], 0.001, 4),  # but not under 0.1%
    ([1.0] * 12, 0.01, 12),  # full rank, flat spectrum
])
def test_srank_of_known_spectra(s, delta, expected):
    assert int(srank(_with_singular_values(s), delta)) == expected


def test_srank_counts_rank_deficient_and_zero_matrices_and_batches_under_jit():
    low = _with_singular_values([3, 2], rows=32, cols=16)  # rank 2 in 16 columns
    zero = jnp.zeros((32, 16))
    ranks = jax.jit(jax.vmap(srank))(jnp.stack([low, zero]))
    assert ranks.dtype == jnp.int32 and ranks.tolist() == [2, 0]


def _sac():
    cfg = agent_config("sac")
    cfg.actor.widths, cfg.actor.width = None, 16
    cfg.critic.widths, cfg.critic.width = None, 16
    return cfg, make_agent(cfg, OBS, ACT)


def test_critic_srank_reads_each_members_penultimate_features_and_vmaps_over_seeds():
    cfg, agent = _sac()
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)

    @jax.jit  # one program: the seeds' states and their sranks, as a trainer calls it
    def run(keys):
        states = jax.vmap(agent.init)(keys)
        return states, jax.vmap(lambda s: critic_srank(agent, s, batch, jax.random.PRNGKey(2)))(states)

    states, out = run(jax.random.split(jax.random.PRNGKey(0), 2))
    assert sorted(out) == ["srank", "srank/q0", "srank/q1"]
    assert all(v.shape == (2,) and v.dtype == jnp.float32 for v in out.values())

    # independently: member i's torso applied alone, its singular values from NumPy
    z_sa = jnp.concatenate([batch.obs, batch.action], axis=-1)
    torso = jax.jit(Torso(cfg.critic).apply)
    for seed in range(2):
        ranks = []
        for member in range(cfg.num_q):
            params = jax.tree.map(lambda x: x[seed, member], states.critic.params["ensemble"]["torso"])
            h = np.asarray(torso({"params": params}, z_sa), np.float64)
            sv = np.linalg.svd(h, compute_uv=False)
            ranks.append(int(np.argmax(np.cumsum(sv) >= 0.99 * sv.sum())) + 1)
        assert [float(out[f"srank/q{i}"][seed]) for i in range(cfg.num_q)] == ranks
        assert float(out["srank"][seed]) == pytest.approx(np.mean(ranks))
