"""The encoder and the gradient contract of DrQ's SAC from pixels, with stand-in heads."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.networks.encoder import PixelConvs, PixelEncoder, conv_output_size

OBS = (4, 84, 84, 9)
SMALL = (4, 20, 20, 9)  # the gradient contract holds at any size; 20 keeps the test fast


def _obs(seed=0, shape=OBS):
    return jax.random.randint(jax.random.PRNGKey(seed), shape, 0, 256).astype(jnp.uint8)


def test_encoder_shapes_and_range():
    obs = _obs()
    params = jax.jit(PixelEncoder().init)(jax.random.PRNGKey(0), obs)["params"]
    assert conv_output_size(84) == 35
    assert PixelConvs().apply({"params": params["convs"]}, obs).shape == (4, 35 * 35 * 32)
    assert params["head"]["dense"]["kernel"].shape == (39200, 50)
    assert [params["convs"][f"conv_{i}"]["kernel"].shape for i in range(4)] == [(3, 3, 9, 32)] + [(3, 3, 32, 32)] * 3
    z = jax.jit(PixelEncoder().apply)({"params": params}, obs)
    assert z.shape == (4, 50) and z.dtype == jnp.float32
    assert np.all(np.abs(z) < 1) and float(z.std()) > 0.1
    # uint8 in, scaled by 1/255 inside: the same as float pixels in [0, 255]
    np.testing.assert_allclose(z, jax.jit(PixelEncoder().apply)({"params": params}, obs.astype(jnp.float32)), atol=1e-5)


class Critic(nn.Module):
    """Stand-in: encoder + one Dense Q on [features, action]."""

    @nn.compact
    def __call__(self, obs, action, stop_conv_gradient=False):
        z = PixelEncoder(name="encoder")(obs, stop_conv_gradient)
        return nn.Dense(1, name="q")(jnp.concatenate([z, action], -1))[:, 0]


def actor_features(actor_params, critic_params, obs):
    """The actor's own feature head on the critic's conv parameters (tied), gradient cut between."""
    tied = {"convs": critic_params["encoder"]["convs"], "head": actor_params["head"]}
    return PixelEncoder().apply({"params": tied}, obs, stop_conv_gradient=True)


def _norms(tree):
    return jax.tree.map(lambda g: float(jnp.abs(g).sum()), tree)


def test_encoder_trains_through_the_critic_only():
    obs, action = _obs(1, SMALL), jnp.zeros((4, 2))
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    critic_params = Critic().init(k1, obs, action)["params"]
    policy = nn.Dense(2)
    actor_params = {
        "head": PixelEncoder().init(k2, obs)["params"]["head"],  # its convs are the critic's
        "pi": policy.init(k3, jnp.zeros((1, 50)))["params"],
    }

    def critic_loss(cp):
        return jnp.mean((Critic().apply({"params": cp}, obs, action) - 1.0) ** 2)

    def actor_loss(ap, cp):
        # DrQ: the actor reads the critic's convs, and the critic's Q with its convs detached
        pi = jnp.tanh(policy.apply({"params": ap["pi"]}, actor_features(ap, cp, obs)))
        return -jnp.mean(Critic().apply({"params": cp}, obs, pi, stop_conv_gradient=True))

    g_critic = jax.jit(jax.grad(critic_loss))(critic_params)
    g_actor, g_critic_from_actor = jax.jit(jax.grad(actor_loss, argnums=(0, 1)))(actor_params, critic_params)

    # the critic loss reaches every conv and the critic's feature head
    assert all(v > 0 for v in jax.tree.leaves(_norms(g_critic["encoder"]["convs"])))
    assert _norms(g_critic["encoder"]["head"])["dense"]["kernel"] > 0
    # the actor loss reaches no conv weight, trains its own head and policy
    assert all(v == 0 for v in jax.tree.leaves(_norms(g_critic_from_actor["encoder"]["convs"])))
    assert _norms(g_actor["head"])["dense"]["kernel"] > 0 and _norms(g_actor["pi"])["kernel"] > 0
