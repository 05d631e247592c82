"""largerl_jax.export: the NumPy policy acts as the agent's deterministic act() for every agent
kind and torso (batch-norm running statistics and spectral vectors perturbed away from their
initial values, so those paths matter), applies gate scales where the torso's masks go, refuses
files of another format version, and loads without JAX."""
import dataclasses
import io
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.export import FORMAT_VERSION, load_policy
from largerl_jax.export.writer import policy_contents, write_policy
from largerl_jax.features import phi_s_torso_config
from largerl_jax.networks import Torso, torso_config

OBS, ACT, N = 5, 2, 7
FRAME = (20, 20, 3)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (agent, features, actor torso overrides): each agent kind raw and on OFENet, every arch, and
# batch norm, batch renormalization, spectral norm (both modes), swish, a densenet pass-through
# and per-layer widths
CASES = [
    ("sac", "raw", dict(arch="mlp")),
    ("sac_v1", "raw", dict(arch="mlp", activation="swish", batch_norm=True)),
    ("td3", "raw", dict(arch="mlp", spectral_norm="all")),
    ("sac", "ofenet", dict(arch="mlp", spectral_norm="intermediate")),
    ("sac_v1", "ofenet", dict(arch="mlp", batch_norm=True, spectral_norm="all")),
    ("td3", "ofenet", dict(arch="resnet", activation="swish")),
    ("sac", "raw", dict(arch="resnet", batch_norm=True, spectral_norm="all")),
    ("sac", "raw", dict(arch="densenet", batch_norm=True, activation="swish", densenet_passthrough="diagonal")),
    ("td3", "raw", dict(arch="densenet", spectral_norm="intermediate")),
    ("sac", "raw", dict(arch="d2rl", batch_norm=True, spectral_norm="all")),
    ("sac", "raw", dict(arch="modern", spectral_norm="all")),
    ("td3", "raw", dict(arch="modern", activation="swish", modern_final_norm=False, spectral_norm="intermediate")),
    ("sac", "raw", dict(arch="mlp", widths=(6, 3), batch_norm=True)),
    ("sac", "raw", dict(arch="mlp", batch_renorm=True)),  # CrossQ's placement, evaluation mode
    ("td3", "ofenet", dict(arch="mlp", batch_renorm=True, activation="swish")),
    ("sac", "raw", dict(arch="mlp", layer_norm=True, activation="swish", ln_epsilon=1e-5)),  # FastSAC's stacks
]


def _config(name, features="raw", **torso):
    cfg = agent_config(name)
    cfg.actor = torso_config(**{"width": 8, "depth": 2, **torso})
    cfg.features = features
    cfg.ofenet.num_layers, cfg.ofenet.units, cfg.ofenet.batch_size = 2, 4, cfg.batch_size
    return cfg


def _random_state(agent, seed=1):
    """A state of the agent's layout (``agent.init`` traced, not compiled: compiling each case's
    init would take most of this file's time) with every float drawn at random: kernels at the
    scale of their fan-in, running variances positive, spectral u anywhere, biases, BN and LN
    scales and means, pass-through weights all away from their initial 0 or 1, so no export
    path can lean on an initial value or a converged u."""
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        if not np.issubdtype(leaf.dtype, np.floating):
            return np.zeros(leaf.shape, leaf.dtype)
        name = getattr(path[-1], "key", None)
        noise = rng.standard_normal(leaf.shape)
        if name == "kernel":
            x = noise / np.sqrt(np.prod(leaf.shape[:-1]))
        elif name == "var":
            x = rng.uniform(0.3, 3.0, leaf.shape)
        elif name == "scale":
            x = 1.0 + 0.3 * noise
        else:
            x = 0.3 * noise
        return x.astype(leaf.dtype)

    return jax.tree_util.tree_map_with_path(draw, jax.eval_shape(agent.init, jax.random.PRNGKey(0)))


def _roundtrip(contents):
    buf = io.BytesIO()
    np.savez(buf, **contents)
    buf.seek(0)
    return load_policy(buf)


def _jax_actions(agent, state, obs):
    return np.asarray(jax.jit(lambda s, o: agent.act(s, o, jax.random.PRNGKey(0), True))(state, jnp.asarray(obs)))


def _obs(seed=0):
    return np.random.default_rng(seed).standard_normal((N, OBS)).astype(np.float32)


@pytest.mark.parametrize("name,features,torso", CASES, ids=[f"{a}-{f}-{'-'.join(map(str, t.values()))}" for a, f, t in CASES])
def test_numpy_actions_equal_the_agents_deterministic_actions(name, features, torso):
    agent = make_agent(_config(name, features, **torso), OBS, ACT)
    state = _random_state(agent)
    policy = _roundtrip(policy_contents(agent, state, (OBS,), "test_config"))
    obs = _obs()
    actions = policy(obs)
    expected = _jax_actions(agent, state, obs)
    assert actions.dtype == np.float32 and actions.shape == (N, ACT)
    assert np.median(np.abs(expected)) < 0.99  # mostly unsaturated: tanh would hide differences
    np.testing.assert_allclose(actions, expected, atol=1e-5, rtol=0)
    single = policy(obs[0])
    assert single.shape == (ACT,)
    np.testing.assert_allclose(single, actions[0], atol=1e-6, rtol=0)
    assert (policy.config_name, policy.agent, policy.obs_shape, policy.act_dim) == ("test_config", agent.name, (OBS,), ACT)
    assert policy.format_version == FORMAT_VERSION


@pytest.mark.parametrize("sn", ["none", "all"])
def test_pixel_agent_reads_uint8_stacks_through_the_critics_convs(sn):
    cfg = agent_config("sac_pixels")
    cfg.actor = torso_config(width=8, depth=2, spectral_norm=sn, batch_norm=sn == "all")
    cfg.critic = torso_config(width=8, depth=2)
    agent = make_agent(cfg, int(np.prod(FRAME)), ACT, FRAME)
    state = _random_state(agent)
    stack = (FRAME[0], FRAME[1], FRAME[2] * cfg.frame_stack)
    policy = _roundtrip(policy_contents(agent, state, stack, "pixels"))
    obs = np.random.default_rng(0).integers(0, 256, (N, *stack), dtype=np.uint8)
    expected = _jax_actions(agent, state, obs)
    assert policy.obs_dtype == "uint8" and policy.obs_shape == stack
    np.testing.assert_allclose(policy(obs), expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(policy(obs[3]), expected[3], atol=1e-5, rtol=0)


def _gates(widths, seed):
    rng = np.random.default_rng(seed)
    # pi * alive: some units dead (0), the rest scaled by pi in (0, 1]
    return [(rng.uniform(0.2, 1.0, w) * (rng.uniform(size=w) > 0.3)).astype(np.float32) for w in widths]


@pytest.mark.parametrize("features,arch", [("raw", "mlp"), ("raw", "modern"), ("ofenet", "densenet")])
def test_gate_scales_multiply_where_the_torso_masks_go(features, arch):
    cfg = _config("sac", features, arch=arch, batch_norm=arch != "modern", densenet_passthrough="diagonal")
    agent = make_agent(cfg, OBS, ACT)
    state = _random_state(agent)
    nets = agent.networks(state)
    actor, actor_vars = nets["actor"]
    actor_gates = _gates([8 * (2 if arch == "modern" else 1)] * 2, seed=1)
    gates = {"actor/torso": actor_gates}
    obs = _obs()
    z = obs
    if features == "ofenet":
        ofe_gates = _gates([4, 4], seed=2)
        gates["ofenet/phi_s"] = [ofe_gates[0], None]  # None: that layer keeps scale 1
        ofenet, ofe_vars = nets["ofenet"]
        phi_s_vars = {col: tree["phi_s"] for col, tree in ofe_vars.items()}
        z = Torso(phi_s_torso_config(ofenet.cfg)).apply(phi_s_vars, obs, masks=[ofe_gates[0], None])
    mean, _ = actor.apply(actor_vars, z, masks=actor_gates)
    policy = _roundtrip(policy_contents(agent, state, (OBS,), "gated", gates=gates))
    np.testing.assert_allclose(policy(obs), np.tanh(np.asarray(mean)), atol=1e-5, rtol=0)
    ungated = _roundtrip(policy_contents(agent, state, (OBS,), "gated"))
    assert np.abs(ungated(obs) - policy(obs)).max() > 1e-3  # the gates did something


def test_gates_must_name_a_torso_and_match_its_widths():
    agent = make_agent(_config("sac"), OBS, ACT)
    state = _random_state(agent)
    with pytest.raises(ValueError, match="torsos: \\['actor/torso'\\]"):
        policy_contents(agent, state, (OBS,), "x", gates={"critic/torso": [None, None]})
    with pytest.raises(ValueError, match="2 maskable layers"):
        policy_contents(agent, state, (OBS,), "x", gates={"actor/torso": [None]})
    with pytest.raises(ValueError, match="shape \\(8,\\)"):
        policy_contents(agent, state, (OBS,), "x", gates={"actor/torso": [np.ones(5), None]})


def test_an_agent_declares_its_export_or_is_refused():
    """The writer knows no agent: what goes in the file is the agent's own declaration."""
    agent = make_agent(_config("sac"), OBS, ACT)
    state = _random_state(agent)
    with pytest.raises(ValueError, match="agent 'sac' declares no export"):
        policy_contents(dataclasses.replace(agent, export=None), state, (OBS,), "x")

    def stops_early(p, s, x):  # a declaration whose last op is not the action
        name, act_dim = agent.export(p, s, x)
        p.op("relu", name)
        return name, act_dim

    with pytest.raises(ValueError, match="must end with the op that makes the action"):
        policy_contents(dataclasses.replace(agent, export=stops_early), state, (OBS,), "x")


def test_file_keys_and_unknown_versions_are_refused(tmp_path):
    agent = make_agent(_config("td3"), OBS, ACT)
    contents = policy_contents(agent, _random_state(agent), (OBS,), "pendulum_td3", info={"seed": 3})
    path = str(tmp_path / "policy.npz")
    write_policy(path, contents)
    assert os.listdir(tmp_path) == ["policy.npz"]  # no temporary file left behind
    with np.load(path, allow_pickle=False) as f:
        assert int(f["format_version"]) == FORMAT_VERSION and int(f["act_dim"]) == ACT
        assert list(f["obs_shape"]) == [OBS] and str(f["config_name"]) == "pendulum_td3"
        assert {"params/actor/torso/hidden_0/kernel", "params/actor/out/bias"} <= set(f.files)
        assert not any("critic" in k for k in f.files)  # the acting part only
        ops = json.loads(str(f["program"]))
    assert [op["scale"] for op in ops if op.get("optional")] == [
        "params/actor/torso/gate_0", "params/actor/torso/gate_1"]
    assert load_policy(path).info == {"seed": 3}

    newer = dict(contents, format_version=np.array(FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}, but this loader reads version "
                                         f"{FORMAT_VERSION} only"):
        _roundtrip(newer)
    with pytest.raises(ValueError, match="not a policy file"):
        _roundtrip({"weights": np.zeros(3)})
    with pytest.raises(ValueError, match="observations must have shape \\[N, 5\\]"):
        load_policy(path)(np.zeros((2, OBS + 1)))


def test_the_loader_runs_without_jax(tmp_path):
    agent = make_agent(_config("sac", "ofenet", batch_norm=True), OBS, ACT)
    state = _random_state(agent)
    path, obs_path, out_path = (str(tmp_path / n) for n in ("p.npz", "obs.npy", "act.npy"))
    write_policy(path, policy_contents(agent, state, (OBS,), "x"))
    obs = _obs()
    np.save(obs_path, obs)
    script = (
        "import sys\n"
        "for name in ('jax', 'jaxlib', 'flax', 'optax', 'ml_collections'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        "import numpy as np\n"
        "from largerl_jax.export.numpy_policy import load_policy\n"
        f"np.save({out_path!r}, load_policy({path!r})(np.load({obs_path!r})))\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(out_path), _jax_actions(agent, state, obs), atol=1e-5, rtol=0)


@pytest.mark.parametrize("features", ["raw", "ofenet"])
def test_pruned_agent_exports_its_own_gate_scales(features):
    """A pruned (XiNet) agent's file carries its evaluation-mode gate scales pi * alive without
    the caller naming them, and acts like the agent."""
    cfg = _config("sac_v1", features)
    cfg.ofenet.passthrough = "diagonal"
    cfg.pruning.enabled = True
    cfg.pruning.round_update = 100
    agent = make_agent(cfg, OBS, ACT)
    state = _random_state(agent)
    rng = np.random.default_rng(3)

    def gates(g):
        alive = tuple(jnp.asarray(rng.random(a.shape) > 0.3) for a in g.alive)
        return g.replace(alive=alive, pi=tuple(jnp.asarray(rng.uniform(0.1, 1.0, p.shape)) * a for p, a in zip(g.pi, alive)))

    if features == "ofenet":
        state = state.replace(ofe=state.ofe.replace(gates=gates(state.ofe.gates)),
                              agent=state.agent.replace(gates={k: gates(v) for k, v in state.agent.gates.items()}))
    else:
        state = state.replace(gates={k: gates(v) for k, v in state.gates.items()})
    contents = policy_contents(agent, state, (OBS,), "test_config")
    assert any(k.endswith("gate_0") for k in contents)
    obs = _obs()
    np.testing.assert_allclose(_roundtrip(contents)(obs), _jax_actions(agent, state, obs), atol=1e-5)
