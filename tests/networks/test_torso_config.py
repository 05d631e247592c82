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
        kernel_init="lecun_normal",
        bn_epsilon=1e-5,
        modern_inner_multiple=2,
        modern_final_norm=True,
    )


@pytest.mark.parametrize(
    "overrides,match",
    [
        (dict(arch="transformer"), "arch must be one of .*densenet"),
        (dict(activation="tanh"), "activation must be one of .*swish"),
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
