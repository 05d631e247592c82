"""Output widths and parameter counts against closed forms; shapes only (jax.eval_shape), so
the 2048-wide networks of Ota et al. are never materialized."""
import math

import jax
import jax.numpy as jnp
import pytest

from largerl_jax.networks import (
    DeterministicPolicy,
    Torso,
    format_param_table,
    layer_widths,
    param_table,
    torso_config,
    torso_out_dim,
    total_params,
)


def _shapes(module, in_dim, batch=3):
    x = jax.ShapeDtypeStruct((batch, in_dim), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    out = jax.eval_shape(module.apply, variables, x)
    return variables, out


def _closed_form(arch, n, w, d, k=2):
    """(output width, per-layer Dense params) straight from the equations of each paper."""
    if arch == "mlp" or arch == "resnet":
        return w, [n * w + w] + [w * w + w] * (d - 1)
    if arch == "densenet":
        return n + d * w, [(n + i * w) * w + w for i in range(d)]
    if arch == "d2rl":
        return w, [n * w + w] + [(w + n) * w + w] * (d - 1)
    if arch == "modern":
        inner = k * w
        # up row includes its pre-LayerNorm (2w); final LayerNorm is its own row.
        blocks = [2 * w + w * inner + inner, inner * w + w] * d
        return w, [n * w + w] + blocks + [2 * w]
    raise AssertionError(arch)


@pytest.mark.parametrize("arch", ["mlp", "resnet", "densenet", "d2rl", "modern"])
@pytest.mark.parametrize("width,depth", [(4, 1), (8, 3), (16, 2), (32, 5)])
def test_out_width_and_param_counts_follow_closed_form(arch, width, depth):
    n = 7
    cfg = torso_config(arch=arch, width=width, depth=depth)
    variables, out = _shapes(Torso(cfg), n)
    want_out, want_layers = _closed_form(arch, n, width, depth)
    assert out.shape == (3, want_out)
    assert torso_out_dim(cfg, n) == want_out
    rows = param_table(variables)
    assert [r["params"] for r in rows] == want_layers
    all_leaves = sum(math.prod(x.shape) for x in jax.tree.leaves(variables["params"]))
    assert total_params(variables) == sum(want_layers) == all_leaves


@pytest.mark.parametrize("arch", ["mlp", "resnet", "densenet", "d2rl", "modern"])
def test_layer_widths(arch):
    cfg = torso_config(arch=arch, width=8, depth=3, modern_inner_multiple=3)
    assert layer_widths(cfg, 5) == ([24] * 3 if arch == "modern" else [8] * 3)


def test_modern_inner_multiple_sets_block_width():
    cfg = torso_config(arch="modern", width=8, depth=1, modern_inner_multiple=4)
    variables, _ = _shapes(Torso(cfg), 5)
    assert variables["params"]["block_0"]["up"]["kernel"].shape == (8, 32)
    assert variables["params"]["block_0"]["down"]["kernel"].shape == (32, 8)


def test_per_layer_widths_override():
    cfg = torso_config(arch="densenet", width=8, depth=3, widths=(3, 5, 2))
    variables, out = _shapes(Torso(cfg), 4)
    assert out.shape[-1] == 4 + 3 + 5 + 2 == torso_out_dim(cfg, 4)
    assert [(r["in"], r["out"]) for r in param_table(variables)] == [(4, 3), (7, 5), (12, 2)]


def test_ota_table2_sac_densenet_2x2048():
    # Ant-v2: OFENet state features z_s have 111 + 8 * 256 = 2159 dims.
    cfg = torso_config(arch="densenet", width=2048, depth=2, activation="swish")
    variables, out = _shapes(DeterministicPolicy(cfg, act_dim=8), 2159)
    rows = param_table(variables)
    assert [(r["name"], r["in"], r["out"], r["params"]) for r in rows] == [
        ("torso/hidden_0", 2159, 2048, 4_423_680),
        ("torso/hidden_1", 4207, 2048, 8_617_984),
        ("out", 6255, 8, 50_048),
    ]
    assert total_params(variables) == 13_091_712
    assert out.shape == (3, 8)


def test_ota_table2_ofenet_with_paper_bn_convention():
    # OFENet z_s: 8-layer DenseNet, 256 units, Dense -> BN -> swish, over 111 Ant-v2 state dims.
    cfg = torso_config(arch="densenet", width=256, depth=8, batch_norm=True, activation="swish")
    variables, _ = _shapes(Torso(cfg), 111)
    paper = [r["params"] for r in param_table(variables, bn_convention="paper")]
    assert paper == [29_696, 95_232, 160_768, 226_304, 291_840, 357_376, 422_912, 488_448]
    assert total_params(variables, bn_convention="paper") == 2_072_576
    # Trainable-only convention drops the running mean/var (2 numbers per unit and layer).
    assert total_params(variables) == 2_072_576 - 8 * 2 * 256
    assert all(r["norm"] == "batch" for r in param_table(variables))


def test_bad_bn_convention_raises():
    variables, _ = _shapes(Torso(torso_config()), 3)
    with pytest.raises(ValueError, match="trainable"):
        param_table(variables, bn_convention="keras")


def test_rows_run_input_to_output_even_past_ten_layers():
    variables, _ = _shapes(DeterministicPolicy(torso_config(width=2, depth=12), act_dim=1), 3)
    names = [r["name"] for r in param_table(variables)]
    assert names == [f"torso/hidden_{i}" for i in range(12)] + ["out"]
    text = format_param_table(param_table(variables))
    assert text.splitlines()[1].startswith("torso/hidden_0") and len(text.splitlines()) == 14


def test_modern_widths_set_inner_widths_only():
    cfg = torso_config(arch="modern", width=8, depth=2, widths=(5, 7))
    variables, out = _shapes(Torso(cfg), 4)
    assert variables["params"]["block_0"]["up"]["kernel"].shape == (8, 5)
    assert variables["params"]["block_1"]["down"]["kernel"].shape == (7, 8)
    assert out.shape[-1] == 8 == torso_out_dim(cfg, 4)
