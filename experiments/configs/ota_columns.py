"""Which column of Ota et al. 2021's Table 1 a run config belongs to, read from the config the
``TASK_ALGO_{original,ofenet,ours}`` and ``ant_sac_small_*`` configs (families.py) declare:

- Original: raw observations (no OFENet), one env stepping per iteration;
- OFENet: OFENet features, one env (heads of any architecture: Ota et al. 2020 use 2 x 256
  MLPs, our reduced-scale ``ant_sac_small_no_apex`` keeps Ours' DenseNet heads);
- Ours: OFENet features, DenseNet heads and several envs acting with the latest policy (the
  Ape-X-like collection).
Anything else (e.g. an ablation with several envs but raw observations) fits no column.
"""
from __future__ import annotations

METHODS = {"ours": "Ours", "ofenet": "OFENet", "original": "Original"}


def infer_method(config: dict) -> str | None:
    """The column (a METHODS key) of a saved run config, None when it fits none."""
    agent, env = config.get("agent", {}), config.get("env", {})
    several_envs = env.get("num_envs", 1) > 1
    if agent.get("features", "raw") != "ofenet":
        return None if several_envs else "original"
    if not several_envs:
        return "ofenet"
    heads = [agent[n].get("arch") for n in ("actor", "critic", "value") if isinstance(agent.get(n), dict)]
    return "ours" if heads and all(a == "densenet" for a in heads) else None
