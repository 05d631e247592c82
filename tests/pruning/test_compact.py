import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from largerl_jax.networks import GaussianPolicy, QNetwork, Torso, VNetwork, layer_widths, torso_config, torso_out_dim
from largerl_jax.pruning.compact import alive_to_keep, apply_plan, compact_masks, compaction_plan

B, OBS, ACT = 7, 5, 2

CASES = {
    "mlp": dict(arch="mlp"),
    "resnet": dict(arch="resnet"),
    "densenet": dict(arch="densenet"),
    "densenet_diag": dict(arch="densenet", densenet_passthrough="diagonal"),
    "densenet_diag_bn": dict(arch="densenet", densenet_passthrough="diagonal", batch_norm=True),
    "d2rl": dict(arch="d2rl"),
    "modern": dict(arch="modern", width=4),
}


def _cfg(**overrides):
    return torso_config(**{"width": 6, "depth": 3, **overrides})


def _inputs():
    # numpy throughout the setup: eager JAX would compile a program per op and shape.
    rng = np.random.default_rng(1)
    return rng.standard_normal((B, OBS), np.float32), np.tanh(rng.standard_normal((B, ACT), np.float32))


def _alive(widths, members, arch, seed=0):
    """Random alive masks [*members, n] with a different number of dead units per member, so
    keeping one count needs padding. For resnet some units die in every layer (the only ones
    that can go) and some in one layer only (kept for the union, masked there)."""
    rng = np.random.default_rng(seed)
    rows = int(np.prod(members, dtype=int))
    n = widths[0]
    shared = [rng.permutation(n)[: 1 + r] for r in range(rows)]
    masks = []
    for w in widths:
        alive = np.ones((rows, w), bool)
        for r in range(rows):
            alive[r, shared[r] if arch == "resnet" else rng.permutation(w)[: 2 + r]] = False
            if arch == "resnet":
                alive[r, rng.choice(np.flatnonzero(alive[r]))] = False
        masks.append(alive.reshape(members + (w,)))
    return masks


def _float_masks(alive):
    return [np.asarray(a, np.float32) for a in alive]


def _init(module, *inputs, seed=0):
    """Random variables of the module's shapes. Not its initialisers: compiling those (random
    bits) took most of this file's time. Random pass-through scales, biases and batch-norm
    statistics also make an index mix-up show where init values (1, 0) would hide it."""
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name, shape = path[-1].key, leaf.shape
        if name == "kernel":
            return rng.standard_normal(shape, np.float32) / np.sqrt(shape[-2])
        if name == "var":
            return rng.uniform(0.5, 1.5, shape).astype(np.float32)
        return (name == "scale") + 0.3 * rng.standard_normal(shape, np.float32)

    shapes = jax.eval_shape(module.init, jax.random.key(0), *inputs)
    return jax.tree_util.tree_map_with_path(fill, shapes)


def _run(module, variables, *inputs, masks=None):
    return jax.jit(lambda v, x, m: module.apply(v, *x, masks=m))(variables, inputs, masks)


def _shapes(tree):
    return jax.tree.map(lambda x: tuple(x.shape), tree)


def _size(tree):
    return sum(x.size for x in jax.tree.leaves(tree))


def _compact(module_fn, cfg, in_dim, alive, variables, in_keep=None):
    plan = compaction_plan(cfg, in_dim, [alive_to_keep(a)[0] for a in alive], in_keep)
    return module_fn(plan.cfg), plan, apply_plan(plan, variables), compact_masks(plan, _float_masks(alive))


def _train_stats(module, variables, inputs, masks):
    """One train-mode pass so batch-norm running statistics are not their init values."""
    if "batch_stats" not in variables:
        return variables
    _, updates = jax.jit(lambda v: module.apply(v, *inputs, train=True, masks=masks, mutable=["batch_stats"]))(variables)
    return {**variables, **updates}


HEADS = {
    "policy": (lambda cfg: GaussianPolicy(cfg, act_dim=ACT), (), lambda obs, act: (obs,), OBS),
    "q": (lambda cfg: QNetwork(cfg, num_q=2), (2,), lambda obs, act: (obs, act), OBS + ACT),
}


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("case", CASES)
def test_compacted_head_computes_the_same_function(case, head):
    module_fn, members, pick, in_dim = HEADS[head]
    # Depth 2 keeps compilation short; deeper densenet offsets are checked further down.
    cfg, inputs = _cfg(**{**CASES[case], "depth": 2}), pick(*_inputs())
    module = module_fn(cfg)
    variables = _init(module, *inputs)
    widths = layer_widths(cfg, in_dim)
    alive = _alive(widths, members, cfg.arch)
    variables = _train_stats(module, variables, inputs, _float_masks(alive))
    ref = _run(module, variables, *inputs, masks=_float_masks(alive))

    new_module, plan, new_vars, new_masks = _compact(module_fn, cfg, in_dim, alive, variables)
    out = _run(new_module, new_vars, *inputs, masks=new_masks)

    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), out, ref)
    new_widths = layer_widths(plan.cfg, in_dim)
    assert all(k < n for k, n in zip(new_widths, widths)), (new_widths, widths)
    if cfg.arch == "resnet":
        assert len(set(new_widths)) == 1
    # Exactly the variables a network of the new widths has, and fewer numbers in them.
    assert _shapes(new_vars) == _shapes(jax.eval_shape(new_module.init, jax.random.key(0), *inputs))
    assert _size(new_vars) < _size(variables)
    for mask, w in zip(new_masks, new_widths):
        assert mask.shape == members + (w,)


def test_members_keep_their_own_units():
    cfg, inputs = _cfg(arch="mlp"), _inputs()
    q = QNetwork(cfg, num_q=2)
    variables = _init(q, *inputs)
    alive = _alive(layer_widths(cfg, OBS + ACT), (2,), "mlp")
    keep0, new_alive0 = alive_to_keep(alive[0])
    plan = compaction_plan(cfg, OBS + ACT, [alive_to_keep(a)[0] for a in alive])
    kernel = variables["params"]["ensemble"]["torso"]["hidden_0"]["kernel"]
    new_kernel = apply_plan(plan, variables)["params"]["ensemble"]["torso"]["hidden_0"]["kernel"]
    for m in range(2):
        np.testing.assert_array_equal(new_kernel[m], np.asarray(kernel[m])[:, keep0[m]])
        # Padding units are the member's dead ones, and only as many as needed.
        assert new_alive0[m].sum() == alive[0][m].sum()
    assert (~new_alive0).sum(axis=-1).min() == 0


def test_batch_stats_and_adam_state_follow_the_params():
    cfg = _cfg(arch="densenet", batch_norm=True, densenet_passthrough="diagonal")
    obs, _ = _inputs()
    v = VNetwork(cfg)
    variables = _init(v, obs)
    widths = layer_widths(cfg, OBS)
    alive = _alive(widths, (), "densenet")
    masks = _float_masks(alive)
    variables = _train_stats(v, variables, (obs,), masks)
    opt = optax.adam(1e-2)

    def loss(params, module, state, masks):
        out, _ = module.apply({"params": params, **state}, obs, train=True, masks=masks, mutable=["batch_stats"])
        return jnp.mean(out**2)

    @functools.partial(jax.jit, static_argnums=0)
    def step(module, variables, opt_state, masks):
        params, state = variables["params"], {"batch_stats": variables["batch_stats"]}
        updates, opt_state = opt.update(jax.grad(loss)(params, module, state, masks), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    params, opt_state = step(v, variables, opt.init(variables["params"]), masks)
    new_v, plan, new_vars, new_masks = _compact(VNetwork, cfg, OBS, alive, variables)
    new_opt_state = apply_plan(plan, opt_state)

    adam = new_opt_state[0]
    assert adam.count == opt_state[0].count
    assert _shapes(adam.mu) == _shapes(new_vars["params"]) == _shapes(adam.nu)
    keep = plan.layer_keep
    rows1 = np.concatenate([np.arange(OBS), OBS + keep[0]])  # hidden_1 reads concat(x, y_0)
    np.testing.assert_array_equal(
        adam.mu["torso"]["hidden_1"]["kernel"], np.asarray(opt_state[0].mu["torso"]["hidden_1"]["kernel"])[np.ix_(rows1, keep[1])]
    )
    np.testing.assert_array_equal(adam.nu["torso"]["hidden_1_pass"]["scale"], np.asarray(opt_state[0].nu["torso"]["hidden_1_pass"]["scale"])[rows1])
    for stat in ("mean", "var"):
        old = np.asarray(variables["batch_stats"]["torso"]["hidden_2_norm"][stat])
        np.testing.assert_array_equal(new_vars["batch_stats"]["torso"]["hidden_2_norm"][stat], old[keep[2]])

    # Train mode (batch statistics) agrees too, and so does the next Adam step: compacting after
    # a step equals stepping the compacted network with the compacted optimizer state.
    train = jax.jit(lambda m, v, masks: m.apply(v, obs, train=True, masks=masks, mutable=["batch_stats"]), static_argnums=0)
    ref, ref_stats = train(v, variables, masks)
    out, stats = train(new_v, new_vars, new_masks)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), stats, apply_plan(plan, ref_stats))
    params2, opt_state2 = step(v, {**variables, "params": params}, opt_state, masks)
    new_params2, new_opt_state2 = step(new_v, {**new_vars, "params": apply_plan(plan, params)}, new_opt_state, new_masks)

    def compare(path, a, b):
        # A Dense bias right before batch norm has no effect; its gradient is rounding noise
        # that Adam scales up to a full step, different in the two networks.
        names = [getattr(k, "key", None) for k in path]
        if not (names[-1] == "bias" and str(names[-2]).startswith("hidden_")):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=jax.tree_util.keystr(path))

    jax.tree_util.tree_map_with_path(compare, new_params2, apply_plan(plan, params2))
    jax.tree_util.tree_map_with_path(compare, new_opt_state2, apply_plan(plan, opt_state2))


@pytest.mark.parametrize("case", ["mlp", "densenet_diag", "d2rl", "modern"])
def test_dead_input_features_are_dropped(case):
    cfg = _cfg(**CASES[case])
    obs, _ = _inputs()
    dead_inputs = np.array([1, 3])
    obs[:, dead_inputs] = 0.0  # a dead feature of an upstream network reads 0
    in_keep = np.setdiff1d(np.arange(OBS), dead_inputs)
    v = VNetwork(cfg)
    variables = _init(v, obs)
    alive = _alive(layer_widths(cfg, OBS), (), cfg.arch)
    ref = _run(v, variables, obs, masks=_float_masks(alive))

    new_v, plan, new_vars, new_masks = _compact(VNetwork, cfg, OBS, alive, variables, in_keep)
    out = _run(new_v, new_vars, obs[:, in_keep], masks=new_masks)

    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    first = "proj" if cfg.arch == "modern" else "hidden_0"
    assert new_vars["params"]["torso"][first]["kernel"].shape[0] == in_keep.size


def test_densenet_features_feed_a_compacted_downstream_network():
    # OFENet's shape: a densenet feature extractor whose features feed another network.
    cfg = _cfg(arch="densenet", densenet_passthrough="diagonal")
    obs, _ = _inputs()
    torso = Torso(cfg)
    torso_vars = _init(torso, obs)
    alive = _alive(layer_widths(cfg, OBS), (), "densenet")
    features = _run(torso, torso_vars, obs, masks=_float_masks(alive))
    feat_dim = torso_out_dim(cfg, OBS)
    down_cfg = _cfg(arch="mlp", width=5, depth=2)
    down = VNetwork(down_cfg)
    down_vars = _init(down, features, seed=1)
    ref = _run(down, down_vars, features)

    plan = compaction_plan(cfg, OBS, [alive_to_keep(a)[0] for a in alive], torso_path=(), out_path=None)
    new_features = _run(Torso(plan.cfg), apply_plan(plan, torso_vars), obs, masks=compact_masks(plan, _float_masks(alive)))
    np.testing.assert_allclose(new_features, features[:, plan.out_keep], rtol=1e-5, atol=1e-6)
    assert plan.out_keep.size == torso_out_dim(plan.cfg, OBS) < feat_dim

    down_plan = compaction_plan(down_cfg, feat_dim, [None, None], in_keep=plan.out_keep)
    assert down_plan.cfg.widths == (5, 5)
    out = _run(VNetwork(down_plan.cfg), apply_plan(down_plan, down_vars), new_features)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_resnet_union_masks_units_a_layer_did_not_keep():
    cfg = _cfg(arch="resnet", width=4)
    plan = compaction_plan(cfg, OBS, [np.array([0, 1]), np.array([1, 2]), np.array([1])])
    np.testing.assert_array_equal(plan.layer_keep[0], [0, 1, 2])
    assert plan.cfg.widths == (3, 3, 3)
    masks = compact_masks(plan, [jnp.ones(4), jnp.ones(4), np.ones(4, bool)])
    np.testing.assert_array_equal(masks[0], [1, 1, 0])
    np.testing.assert_array_equal(masks[1], [0, 1, 1])
    np.testing.assert_array_equal(masks[2], [False, True, False])


def test_alive_to_keep_pads_members_and_keeps_one_unit():
    alive = np.array([[True, False, True, False], [False, False, False, True]])
    keep, new_alive = alive_to_keep(alive)
    np.testing.assert_array_equal(keep, [[0, 2], [0, 3]])
    np.testing.assert_array_equal(new_alive, [[True, True], [False, True]])
    keep, new_alive = alive_to_keep(np.zeros(3, bool))
    assert keep.shape == (1,) and not new_alive.any()


def test_spectral_norm_layers_refuse_compaction():
    cfg, (obs, _) = _cfg(arch="mlp", spectral_norm="intermediate"), _inputs()
    widths = layer_widths(cfg, OBS)
    with pytest.raises(ValueError, match="spectrally normalized layer torso/hidden_1"):
        # Layer 0 is not normalized, but its dead units are rows of the normalized hidden_1.
        compaction_plan(cfg, OBS, [np.arange(widths[0] - 1), None, None])
    modern = _cfg(arch="modern", width=4, spectral_norm="intermediate")
    with pytest.raises(ValueError, match="torso/block_0/up"):
        compaction_plan(modern, OBS, [np.array([0, 1]), None, None])

    # Removing nothing is allowed (and a permutation leaves the singular values alone).
    v = VNetwork(cfg)
    variables = _init(v, obs)
    perm = [np.random.default_rng(0).permutation(w) for w in widths]
    plan = compaction_plan(cfg, OBS, perm)
    new_vars = apply_plan(plan, variables)
    np.testing.assert_array_equal(new_vars["spectral"]["torso"]["hidden_1"]["u"], np.asarray(variables["spectral"]["torso"]["hidden_1"]["u"])[perm[1]])
    np.testing.assert_allclose(_run(VNetwork(plan.cfg), new_vars, obs), _run(v, variables, obs), rtol=1e-5, atol=1e-5)

    # A plan built without spectral norm still refuses a tree that carries its u.
    plain = compaction_plan(_cfg(arch="mlp"), OBS, [np.arange(widths[0] - 1), None, None])
    with pytest.raises(ValueError, match="torso/hidden_1"):
        apply_plan(plain, variables)


def test_plan_checks_its_inputs():
    cfg = _cfg(arch="mlp")
    v = VNetwork(cfg)
    variables = _init(v, _inputs()[0])
    plan = compaction_plan(cfg, OBS, [np.arange(4), None, None])
    with pytest.raises(ValueError, match="expected size"):
        apply_plan(plan, apply_plan(plan, variables))  # applied twice
    with pytest.raises(ValueError, match="repeat"):
        compaction_plan(cfg, OBS, [np.array([0, 0]), None, None])
    with pytest.raises(ValueError, match="lie in"):
        compaction_plan(cfg, OBS, [np.array([0, 6]), None, None])
    with pytest.raises(ValueError, match="3 entries"):
        compaction_plan(cfg, OBS, [None, None])
