"""Physics-option overrides for Brax systems, found by running every task on MJX with
random and bang-bang (+-1) actions and checking for non-finite observations."""
from __future__ import annotations

import mujoco

# Brax's ant and humanoid choose Newton with 1 iteration and 4 line-search steps on MJX for
# speed; that is stable for them (0 NaN in 32 envs x 1000 bang-bang steps) because they
# terminate when they fall. halfcheetah never terminates, so it reaches far more extreme
# states: with that same 1/4 setting 4 of 32 envs hit NaN within 50-1000 bang-bang steps
# (observations grew to 1e17 first). Its own XML setting, Newton with 4 iterations and 50
# line-search steps, stayed finite over the same rollouts, so we pin at least that here in
# case a Brax release or a speed tweak lowers it.
_MJX_MIN_SOLVER = {
    "halfcheetah": (4, 50),
}


def patch_system(name: str, backend: str, sys):
    if backend != "mjx" or name not in _MJX_MIN_SOLVER:
        return sys
    iterations, ls_iterations = _MJX_MIN_SOLVER[name]
    return sys.tree_replace({
        "opt.solver": mujoco.mjtSolver.mjSOL_NEWTON,
        "opt.iterations": max(int(sys.opt.iterations), iterations),
        "opt.ls_iterations": max(int(sys.opt.ls_iterations), ls_iterations),
    })
