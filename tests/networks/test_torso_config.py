import jax
import jax.numpy as jnp
import pytest

from largerl_jax.networks import Torso, torso_config


def test_defaults():
    cfg = torso_config()
    assert dict(cfg) == dict(
        arch="mlp",
        width=256,
        depth=2,
        widths=None,
        activation="relu",
        spectral_norm="none",
        sn_iters=1,
        batch_norm=False,
        batch_renorm=False,
        layer_norm=False,
        brn_warmup_steps=100_000,
        kernel_init="lecun_normal",
        bn_epsilon=1e-5,
        ln_epsilon=1e-6,
        modern_inner_multiple=2,
        modern_final_norm=True,
        densenet_passthrough="identity",
    )


@pytest.mark.parametrize(
    "overrides,match",
    [
        (dict(arch="transformer"), "arch must be one of .*densenet"),
        (dict(activation="tanh"), "activation must be one of .*swish"),
        (dict(densenet_passthrough="full"), "densenet_passthrough must be one of .*diagonal"),
        (dict(spectral_norm="last"), "spectral_norm must be one of .*intermediate"),
        (dict(width=0), "width must be a positive int"),
        (dict(depth=2.5), "depth must be a positive int"),
        (dict(sn_iters=0), "sn_iters"),
        (dict(batch_norm="yes"), "batch_norm"),
        (dict(arch="modern", batch_norm=True), "LayerNorm"),
        (dict(depth=2, widths=(4,)), "widths must have depth=2"),
        (dict(arch="resnet", depth=2, widths=(4, 8)), "equal"),
        (dict(hidden=3), "unknown torso config fields"),
    ],
)
def test_invalid_values_raise(overrides, match):
    with pytest.raises(ValueError, match=match):
        torso_config(**overrides)


def test_config_is_locked_and_revalidated_when_built():
    cfg = torso_config(width=4)
    with pytest.raises(AttributeError):
        cfg.widht = 8
    cfg.arch = "nope"
    with pytest.raises(ValueError, match="arch"):
        Torso(cfg).init(jax.random.key(0), jnp.ones((1, 3)))


def test_widths_accept_lists():
    assert torso_config(arch="mlp", depth=2, widths=[3, 4]).widths == (3, 4)


def test_diagonal_passthrough_starts_as_identity_and_scales_inputs():
    import jax
    import jax.numpy as jnp

    plain = torso_config(arch="densenet", width=4, depth=2)
    diag = torso_config(arch="densenet", width=4, depth=2, densenet_passthrough="diagonal")
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 5))
    v_plain = Torso(plain).init(jax.random.PRNGKey(0), x)
    v_diag = Torso(diag).init(jax.random.PRNGKey(0), x)
    assert set(v_diag["params"]) == {"hidden_0", "hidden_1", "hidden_0_pass", "hidden_1_pass"}
    assert v_diag["params"]["hidden_1_pass"]["scale"].shape == (9,)
    same = {"params": {k: v_diag["params"][k] for k in ("hidden_0", "hidden_1")}}
    assert jnp.allclose(Torso(plain).apply(same, x), Torso(diag).apply(v_diag, x))  # D = 1 at init
    del v_plain
    zeroed = jax.tree_util.tree_map(lambda a: a, v_diag)
    zeroed["params"]["hidden_0_pass"]["scale"] = jnp.zeros(5)
    out = Torso(diag).apply(zeroed, x)
    assert jnp.allclose(out[:, :5], 0.0)  # the raw input faded out by D_0 = 0 ...
    assert not jnp.allclose(out[:, 5:9], 0.0)  # ... while layer 0's units still read it
