"""What every agent is to the training core (``Agent``: pure functions over its state pytree)
and what it shows of its critic to analyses (``CriticProbe``)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
from flax import struct


@struct.dataclass
class CriticProbe:
    """The online critic on one batch as the agent's ``update`` sees it, for analysis (effective
    rank, loss landscapes): ``module.apply(variables, *inputs, ...)`` is the critic on the batch's
    (s, a), and ``target`` [B] is the TD target ``update`` would regress it on, from the current
    networks (stop-gradient). ``masks``: a gated critic's evaluation masks (None ungated).
    ``module`` is a critic head taking ``train=`` and ``penultimate=`` (QNetwork, PixelCritic).

    Both views apply the critic with train=False: batch norm reads its running statistics and
    spectral norm its stored vectors, so nothing is updated and equal inputs give equal outputs.
    ``params`` (default: the critic's own) lets a caller evaluate perturbed weights."""

    module: Any = struct.field(pytree_node=False)
    variables: dict
    inputs: tuple
    target: jax.Array
    masks: Any = None
    # a distributional critic's outputs [K, B, N] -> Q values [K, B] (e.g. the mean of its
    # quantiles); None: the critic outputs Q values
    to_q: Any = struct.field(pytree_node=False, default=None)

    def _apply(self, params, penultimate: bool):
        variables = self.variables if params is None else {**self.variables, "params": params}
        extra = {} if self.masks is None else {"masks": self.masks}
        return self.module.apply(variables, *self.inputs, train=False, penultimate=penultimate, **extra)

    def q(self, params=None) -> jax.Array:
        """Q values [K, B] of the K ensemble members."""
        out = self._apply(params, False)
        return out if self.to_q is None else self.to_q(out)

    def features(self, params=None) -> jax.Array:
        """Penultimate features [K, B, D]: the input of each member's output Dense."""
        return self._apply(params, True)


@dataclasses.dataclass(frozen=True)
class Agent:
    """An agent is three pure functions over its own state pytree.

    init(key) -> state
    act(state, obs [N, obs_dim], key, deterministic: bool) -> actions in [-1, 1] [N, act_dim]
    update(state, batch: Transition, key, weights=None) -> (state, metrics): metrics are scalars
        except 'priority' [B], the per-sample |TD error| that prioritized replay consumes;
        weights [B] are importance weights (None: uniform replay)
    networks(state) -> {name: (module, variables)} for parameter tables and analysis
    pretrain(state, batch: Transition, key) -> (state, metrics), optional: updates that run
        after the random warm-up and before RL (OFENet's feature pre-training)
    aux_update(state, batch: Transition, key) -> (state, metrics), optional: an auxiliary
        model's step taken before every ``update`` on a batch the trainer draws for it
        uniformly, never the prioritized one (OFENet's next-state model; see training.learner)
    optional_metrics: names of metrics that are NaN by design on some steps (TD3's actor loss
        on critic-only steps); the trainer's divergence check skips them
    gate_widths(state) -> {'pi', 'V', 'Q1', 'Q2'}: expected first-layer widths, optional: agents
        whose networks carry XiNet gates (pruning); a gated OFENet's thresholds read them
    frame_stack: None for agents of flat observations; k for agents of pixels, whose obs are
        uint8 stacks of k frames [N, H, W, 3k] (the trainer then keeps a frame replay and the
        host loop builds the acting stacks)
    critic_probe(state, batch: Transition, key) -> CriticProbe, optional: the online critic, its
        inputs for the batch's (s, a) as ``update`` feeds them (after the feature view) and the
        TD target ``update`` would compute with the same ``key`` (one shared function in each
        agent); gated critics run with their evaluation masks. Pixel agents: the inputs are the
        un-augmented stacks (the critic's encoder is part of the probed critic); the target is
        update's, averaged over its shifted next-observation copies.
    export(p, state, x) -> (name, act_dim), optional: the deterministic action as ops of an export
        program (``largerl_jax.export``; the ops of the standard layers: networks.export_ops)
        reading the op named ``x`` (the observation); the name of the op that makes the action.
        An agent without it cannot be exported (``experiments.export`` says so)
    export_gates(state) -> {torso path: [scale or None per maskable layer]}, optional: the
        evaluation-mode gate scales (pi * alive) of a pruned agent's acting torsos, which an
        export multiplies in; None or {} for an agent without gates
    observe(state, trans) -> state, optional: takes in one env step's transitions (a
        replay.Transition of every env of the seed, [N, ...], warm-up included: the
        observations acted on, rewards, ends), called by the learner when it stores them;
        running statistics such as an observation normaliser's (agents.obs_norm) or a reward
        scale's (agents.reward_norm) live here, never in ``act``, which is read-only
    after_store(state, before, after) -> state, optional: the agent's own schedule in env steps
        (resets, agents.resets), called by the learner after it stores an iteration's
        transitions, before that iteration's updates, with the env-step count before and
        after the store
    """

    name: str
    init: Callable
    act: Callable
    update: Callable
    networks: Callable
    pretrain: Callable | None = None
    aux_update: Callable | None = None
    optional_metrics: tuple[str, ...] = ()
    frame_stack: int | None = None
    gate_widths: Callable | None = None
    critic_probe: Callable | None = None
    export: Callable | None = None
    export_gates: Callable | None = None
    observe: Callable | None = None
    after_store: Callable | None = None


def around(inner: Agent, init: Callable, batch: Callable | None = None, **own) -> Agent:
    """A wrapper agent whose state keeps ``inner``'s as its field ``agent`` (observation
    normalisation, reward scaling, resets). ``init(key)`` builds the wrapper's state;
    ``batch(state, batch)``, when given, rewrites every batch before ``inner`` sees it (its update,
    pre-training, auxiliary update and critic probe). Every other function passes through to
    ``inner`` on ``state.agent`` unless ``own`` names a replacement; an ``observe`` or
    ``after_store`` given in ``own`` calls ``inner``'s itself."""
    see = batch or (lambda state, b: b)

    def on(fn):
        return None if fn is None else (lambda state, *args: fn(state.agent, *args))

    def with_batch(fn):
        if fn is None:
            return None

        def step(state, b, key, **kwargs):
            inner_state, metrics = fn(state.agent, see(state, b), key, **kwargs)
            return state.replace(agent=inner_state), metrics

        return step

    def nested(fn):
        return None if fn is None else (lambda state, *args: state.replace(agent=fn(state.agent, *args)))

    fields = dict(
        name=inner.name, init=init, act=on(inner.act), update=with_batch(inner.update), networks=on(inner.networks),
        pretrain=with_batch(inner.pretrain), aux_update=with_batch(inner.aux_update),
        optional_metrics=inner.optional_metrics, frame_stack=inner.frame_stack, gate_widths=on(inner.gate_widths),
        critic_probe=None if inner.critic_probe is None else (
            lambda state, b, key: inner.critic_probe(state.agent, see(state, b), key)),
        export=None if inner.export is None else (lambda p, state, x: inner.export(p, state.agent, x)),
        export_gates=on(inner.export_gates), observe=nested(inner.observe), after_store=nested(inner.after_store),
    )
    return Agent(**{**fields, **own})
