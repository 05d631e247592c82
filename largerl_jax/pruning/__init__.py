"""XiNet pruning (pruning paper; ``shared/design/xinet.md``) in one package, above the networks
and below the features and agents that carry gates:

* ``gates``: Bernoulli gates as explicit PRNG-driven masks, their straight-through gradient,
  projected Adam step, rounding and metrics;
* ``complexity``: expected costs, per-layer thresholds and the Table 4 parameter counts;
* ``config``: the ``agent.pruning`` hyperparameters;
* ``gated``: gates on an agent's MLP networks (the regulariser and the gates' schedule);
* ``compact``: compaction plans, removing dead units from any torso's arrays (each architecture
  declares its own plan, ``networks.arch``);
* ``agent_shrink``: shrinking a whole seed-batched agent state, as the agent family's
  ``GatedNetworks`` and its feature kind's hooks declare it.

* ``run_hook``: pruning's side of a run (whether it prunes, the rounding update the run's length
  fixes, when to shrink, the widths' checkpoint-metadata key), declared as a run hook in
  ``agents.run_hooks``.

The run loop sees pruning only through the generic run hooks (``training.run_hooks``: after a
training chunk, at evaluation, in checkpoint metadata), which any method can declare.
"""
