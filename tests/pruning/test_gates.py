"""XiNet gates: sampling, the straight-through estimate, projection, pruning and rounding."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from largerl_jax.pruning import gates as G


def test_same_key_same_mask_shared_by_the_batch():
    g = G.init_gates([5, 7], optax.adam(1e-3), pi0=0.5, lead=(2,))
    key = jax.random.PRNGKey(3)
    a = G.train_masks(g.pi, g.alive, key)
    b = G.train_masks(g.pi, g.alive, key)
    c = G.train_masks(g.pi, g.alive, jax.random.PRNGKey(4))
    assert [m.shape for m in a] == [(2, 5), (2, 7)]  # one realisation per layer (and member), no batch axis
    assert all(jnp.array_equal(x, y) for x, y in zip(a, b))
    assert not all(jnp.array_equal(x, y) for x, y in zip(a, c))
    assert set(np.unique(np.concatenate([np.ravel(m) for m in a]))) <= {0.0, 1.0}


def _net(params, x, mask):
    h = jax.nn.relu(x @ params["w1"] + params["b1"]) * mask
    return h @ params["w2"]


def test_straight_through_agrees_in_expectation_with_the_exact_difference():
    """For a loss quadratic in a gate, E[dL/dxi_j] = (L1_j - L0_j) + (pi_j - 1/2) d2L/dxi_j^2,
    so at pi = 1/2 the first-order estimate (spec eq. 7) is unbiased; checked here against the
    exact difference of expected losses, enumerated over all 2^n gate configurations."""
    n = 5
    k = jax.random.split(jax.random.PRNGKey(0), 5)
    params = {"w1": jax.random.normal(k[0], (3, n)), "b1": jax.random.normal(k[1], (n,)) * 0.1,
              "w2": jax.random.normal(k[2], (n, 1))}
    x = jax.random.normal(k[3], (32, 3))
    y = jax.random.normal(k[4], (32, 1))
    loss = lambda mask: jnp.mean(jnp.square(_net(params, x, mask) - y))  # noqa: E731
    pi = jnp.full((n,), 0.5)
    alive = jnp.ones((n,), bool)

    configs = jnp.array(list(itertools.product([0.0, 1.0], repeat=n)))
    losses = jax.vmap(loss)(configs)
    prob = jnp.prod(jnp.where(configs == 1, pi, 1 - pi), axis=1)
    exact = jnp.array([
        jnp.sum(jnp.where(configs[:, j] == 1, prob / pi[j], 0) * losses)
        - jnp.sum(jnp.where(configs[:, j] == 0, prob / (1 - pi[j]), 0) * losses)
        for j in range(n)
    ])

    def estimate(key):
        return jax.grad(lambda p: loss(G.train_masks([p], [alive], key)[0]))(pi)

    keys = jax.random.split(jax.random.PRNGKey(1), 20_000)
    mc = jax.vmap(estimate)(keys)
    stderr = mc.std(axis=0) / np.sqrt(len(keys))
    assert jnp.all(jnp.abs(mc.mean(axis=0) - exact) < 4 * stderr + 1e-4), (mc.mean(axis=0), exact)
    # The exact differences are not all alike, so the check has power.
    assert float(jnp.max(exact) - jnp.min(exact)) > 20 * float(jnp.max(stderr))


def test_dead_units_get_no_mask_and_no_gradient():
    g = G.init_gates([4], optax.adam(1e-3))
    g = g.replace(alive=(jnp.array([True, False, True, False]),))
    m = G.train_masks(g.pi, g.alive, jax.random.PRNGKey(0))[0]
    assert jnp.array_equal(m, jnp.array([1.0, 0.0, 1.0, 0.0]))
    grad = jax.grad(lambda p: jnp.sum(G.train_masks([p], g.alive, jax.random.PRNGKey(0))[0] * 3.0))(g.pi[0])
    assert jnp.array_equal(grad, jnp.array([3.0, 0.0, 3.0, 0.0]))
    assert jnp.array_equal(G.eval_masks(g)[0], jnp.array([1.0, 0.0, 1.0, 0.0]))


def test_step_projects_and_respects_the_window():
    opt = optax.sgd(1.0)
    g = G.init_gates([3], opt, pi0=0.5)
    grads = (jnp.array([10.0, -10.0, 0.2]),)
    frozen = G.step(g, grads, opt, jnp.bool_(False))
    assert jnp.array_equal(frozen.pi[0], g.pi[0])
    stepped = G.step(g, grads, opt, jnp.bool_(True))
    np.testing.assert_allclose(stepped.pi[0], [0.0, 1.0, 0.3], atol=1e-6)  # clipped to [0, 1]


def test_prune_and_round():
    g = G.init_gates([4], optax.adam(1e-3))
    g = g.replace(pi=(jnp.array([0.0005, 0.2, 0.7, 1.0]),))
    pruned = G.prune(g, 1e-3)
    assert jnp.array_equal(pruned.alive[0], jnp.array([False, True, True, True]))
    assert pruned.pi[0][0] == 0.0
    assert jnp.array_equal(G.round_gates(pruned, False).pi[0], pruned.pi[0])
    rounded = G.round_gates(pruned, True)
    assert jnp.array_equal(rounded.pi[0], jnp.array([0.0, 0.0, 1.0, 1.0]))
    assert jnp.array_equal(rounded.alive[0], jnp.array([False, False, True, True]))
    m = G.gate_metrics("net", rounded)
    assert float(m["gates/net/0/alive"]) == 2.0 and float(m["gates/net/0/pi_mean"]) == 1.0


def test_toy_regression_prunes_the_useless_half():
    """16 hidden units: units 0-7 read the two informative inputs, 8-15 only two noise inputs
    (fixed connectivity). With the weights and the gates trained together under an L1 pull on pi
    (spec eqs. 1-2, 6), the noise units are pruned and every useful unit stays."""
    n, half = 16, 8
    k = jax.random.split(jax.random.PRNGKey(0), 6)
    connect = jnp.zeros((4, n)).at[:2, :half].set(1.0).at[2:, half:].set(1.0)
    teacher_w = jax.random.normal(k[0], (2, half)) * 2
    teacher_b = jax.random.normal(k[1], (half,))
    teacher_v = jnp.sign(jax.random.normal(k[2], (half, 1))) * (1.0 + jax.random.uniform(k[3], (half, 1)))

    def target(x):
        return jax.nn.relu(x[:, :2] @ teacher_w + teacher_b) @ teacher_v

    params = {
        "w1": jnp.zeros((4, n)).at[:2, :half].set(teacher_w) + 0.1 * jax.random.normal(k[4], (4, n)),
        "b1": jnp.concatenate([teacher_b, jnp.zeros(half)]),
        "w2": jnp.concatenate([teacher_v, 0.5 * jax.random.normal(k[5], (half, 1))]),
    }
    w_opt, pi_opt = optax.adam(3e-3), optax.adam(1e-2)
    gates = G.init_gates([n], pi_opt)
    state = (params, w_opt.init(params), gates)
    lam = 0.02

    def loss_fn(p, pi, alive, x, key):
        p = {**p, "w1": p["w1"] * connect}
        mask = G.train_masks(pi, alive, key)[0]
        return jnp.mean(jnp.square(_net(p, x, mask) - target(x))) + lam * jnp.sum(pi[0])

    @jax.jit
    def update(state, key):
        p, w_state, g = state
        kx, km = jax.random.split(key)
        x = jax.random.normal(kx, (128, 4))
        gp, gpi = jax.grad(loss_fn, argnums=(0, 1))(p, g.pi, g.alive, x, km)
        upd, w_state = w_opt.update(gp, w_state, p)
        g = G.prune(G.step(g, gpi, pi_opt, jnp.bool_(True)), 1e-3)
        return (optax.apply_updates(p, upd), w_state, g)

    keys = jax.random.split(jax.random.PRNGKey(1), 3000)
    for key in keys:
        state = update(state, key)
    alive = np.asarray(state[2].alive[0])
    assert not alive[half:].any(), alive
    assert alive[:half].all(), (alive, state[2].pi[0])
