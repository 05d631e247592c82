import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.networks.augment import random_shift

PAD = 4


def _offsets(images, shifted):
    """For each sample, the crop offsets of the edge-padded input that give the output."""
    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)), mode="edge")
    h, w = images.shape[1:3]
    found = []
    for x, y in zip(padded, shifted):
        found.append({(i, j) for i in range(2 * PAD + 1) for j in range(2 * PAD + 1)
                      if np.array_equal(x[i:i + h, j:j + w], y)})
    return found


def test_random_shift_is_a_crop_of_the_padded_image_within_4_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(32, 20, 20, 9), dtype=np.uint8)  # noise: every offset is unique
    shifted = jax.jit(random_shift, static_argnames="pad")(jax.random.PRNGKey(1), jnp.asarray(images), pad=PAD)
    assert shifted.shape == images.shape and shifted.dtype == jnp.uint8
    offsets = _offsets(images, np.asarray(shifted))
    assert all(len(o) == 1 for o in offsets)  # one offset in [0, 8]^2 explains all 9 channels
    # per-sample shifts: 32 draws of 81 offsets land on many different ones
    assert len({next(iter(o)) for o in offsets}) >= 16


def test_random_shift_keys_and_float_inputs():
    images = jax.random.uniform(jax.random.PRNGKey(0), (8, 12, 12, 3))
    a = random_shift(jax.random.PRNGKey(2), images)
    np.testing.assert_array_equal(a, random_shift(jax.random.PRNGKey(2), images))
    assert not np.array_equal(a, random_shift(jax.random.PRNGKey(3), images))
    assert a.dtype == images.dtype and a.shape == images.shape
    np.testing.assert_array_equal(random_shift(jax.random.PRNGKey(2), images, pad=0), images)
