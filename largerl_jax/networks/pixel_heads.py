"""DrQ's actor and critic from pixels (Kostrikov et al.; Bjorck et al. App. C): the heads of
``heads.py`` on top of the pixel encoder of ``encoder.py``.

``PixelCritic``: params ``{'encoder': {'convs', 'head'}, 'q': QNetwork}``; it owns the convs.
``PixelActor``: params ``{'head': FeatureHead, 'policy': GaussianPolicy}``; it reads conv
features computed with the critic's convs (``PixelConvs``), so it has no convs of its own and
its loss cannot reach them (see the training contract in encoder.py).
"""
from __future__ import annotations

import flax.linen as nn

from largerl_jax.networks import export_ops
from largerl_jax.networks.encoder import FEATURE_DIM, STRIDES, FeatureHead, PixelEncoder
from largerl_jax.networks.heads import GaussianPolicy, QNetwork, export_policy


class PixelCritic(nn.Module):
    """(uint8 stacks [B, H, W, C], action) -> Q [num_q, B]; ``penultimate``: the Q members'
    penultimate features [num_q, B, D] instead (see QNetwork)."""

    torso: object  # torso_config() of each Q member
    num_q: int = 2
    features: int = FEATURE_DIM

    @nn.compact
    def __call__(self, obs, action, train: bool = False, stop_conv_gradient: bool = False, penultimate: bool = False):
        # the encoder's feature LayerNorm takes its epsilon from the critic's torso config
        z = PixelEncoder(self.features, self.torso.ln_epsilon, name="encoder")(obs, stop_conv_gradient)
        return QNetwork(torso=self.torso, num_q=self.num_q, name="q")(z, action, train=train, penultimate=penultimate)


class PixelActor(nn.Module):
    """Conv features [B, D] (the critic's convs, gradient stopped) -> (mean, log_std)."""

    torso: object
    act_dim: int
    log_std_min: float = -10.0
    log_std_max: float = 2.0
    log_std_bound: str = "clip"  # see GaussianPolicy
    features: int = FEATURE_DIM

    def policy_module(self, **kwargs) -> GaussianPolicy:
        """The Gaussian policy on the feature head's output (the submodule named 'policy')."""
        return GaussianPolicy(torso=self.torso, act_dim=self.act_dim, log_std_min=self.log_std_min,
                              log_std_max=self.log_std_max, log_std_bound=self.log_std_bound, **kwargs)

    @nn.compact
    def __call__(self, conv_features, train: bool = False):
        z = FeatureHead(self.features, self.torso.ln_epsilon, name="head")(conv_features)
        return self.policy_module(name="policy")(z, train=train)


def export_pixel_actor(p, module: PixelActor, variables, critic_variables, x: str) -> tuple[str, int]:
    """A PixelActor's deterministic action on the frame stack ``x`` as export ops: the critic's
    convs (which the actor reads, as agents/sac_pixels.conv_features), then the actor's feature
    head (encoder.FeatureHead) and Gaussian policy; (the action's name, act_dim)."""
    convs = export_ops.child(export_ops.child(critic_variables, "encoder"), "convs")
    h = p.op("pixels", x)
    for i, stride in enumerate(STRIDES):
        params = convs["params"][f"conv_{i}"]
        key = f"critic/encoder/convs/conv_{i}"
        h = p.op("relu", p.op("conv", h, kernel=p.array(f"{key}/kernel", params["kernel"]),
                              bias=p.array(f"{key}/bias", params["bias"]), stride=int(stride)))
    h = p.op("flatten", h)
    head = export_ops.child(variables, "head")
    dense = export_ops.dense(p, export_ops.child(head, "dense"), "actor/head/dense", h)
    z = export_ops.layer_norm(p, export_ops.child(head, "norm"), "actor/head/norm", dense, module.torso.ln_epsilon)
    policy = module.policy_module(parent=None)  # a detached copy: only its attributes are read
    return export_policy(p, policy, export_ops.child(variables, "policy"), "actor/policy", p.op("tanh", z))
