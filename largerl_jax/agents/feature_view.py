"""How an agent sees states and state-action pairs.

Agents never read raw observations directly: they ask a feature view for ``z_s`` (actor, V and
the policy's input) and ``z_sa`` (critic input). ``RAW`` is the identity (z_s = s,
z_sa = [s, a]); an OFENet view returns its learned features. Views are plain objects closing
over traced arrays, built inside the jitted update, so they add no state of their own.
Contract: views stop gradients into their own parameters (RL losses never train the feature
extractor) but stay differentiable in the action, which the actor's loss needs.
"""
from __future__ import annotations

import jax.numpy as jnp


class RawView:
    def state(self, obs, target: bool = False):
        return obs

    def state_action(self, z_s, action, target: bool = False):
        return jnp.concatenate([z_s, action], axis=-1)


RAW = RawView()
