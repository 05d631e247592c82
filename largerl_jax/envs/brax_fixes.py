"""Physics-option overrides for Brax systems, found by running every task on MJX with
random and bang-bang (+-1) actions and checking for non-finite observations."""
from __future__ import annotations

import mujoco

# Brax runs ant and humanoid on MJX with Newton, 1 iteration, 4 line-search steps and Euler
# damping disabled, for speed; that stayed finite (32 envs x 1000 bang-bang steps each) as they
# terminate when they fall. halfcheetah never terminates and reaches far more extreme states:
# at 1/4 with Euler damping on (its XML default) 4 of 32 envs went NaN after 49+ bang-bang
# steps and another run reached |obs| = 2.5e17. Its XML setting, Newton 4 iterations / 50
# line-search steps, stayed finite (|obs| < 41) over 96k bang-bang and 37k random env-steps, so we
# pin at least that, in case a Brax release or a speed tweak lowers it. It costs speed: about
# 1.1k env-steps/s on 2 CPU cores at 64 envs vs 14k for 1/4 with Euler damping off (also
# finite over 96k bang-bang env-steps, a faster option if its accuracy is acceptable).
# No task here needs a solver swap for MJX (which cannot load PGS models): every XML uses the
# default Newton solver, and Brax sets Newton explicitly for ant and humanoid.
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
