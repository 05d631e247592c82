"""DrQ's image augmentation: a random shift of each sample by up to ``pad`` pixels."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def random_shift(key: jax.Array, images: jax.Array, pad: int = 4) -> jax.Array:
    """Replicate-pad ``images`` [B, H, W, C] by ``pad`` on each side and crop each sample back
    to H x W at its own offset, drawn uniformly from [0, 2*pad]^2 (DrQ, Kostrikov et al.).

    Integer offsets, as DrQ's crop (not DrQ-v2's bilinear shift), so uint8 stays uint8 and the
    frames of a stack move together: the stack's channels share one offset. Edge padding rather
    than zeros keeps a shifted frame free of black borders the critic could key on."""
    if pad == 0:
        return images
    b, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    offsets = jax.random.randint(key, (b, 2), 0, 2 * pad + 1)

    def crop(image, offset):
        return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, image.shape[-1]))

    return jax.vmap(crop)(padded, offsets)
