"""The XLA:CPU flags the suite compiles with (set by tests/conftest.py unless XLA_FLAGS is set).

FAST_COMPILE: the backend at its lowest optimisation level and the legacy (non-MLIR) fusion
emitters. The suite's programs are tiny and compiled once, so the time LLVM and the MLIR
emitters spend optimising them is time spent for nothing. Measured on the 2-core dev VM,
2026-12-06, a tiny MJX inverted_pendulum run (tests/training/test_runner.py's): 109 s at XLA's
defaults, 86 s at the lowest level, 61 s with the old emitters too (its four programs compile in
27 s instead of 69 s).

LOW_LEVEL_ONLY: the lowest level with the default emitters, for the few runs whose time is running
rather than compiling: the legacy emitters slow the pixel agent's run (the golden pixels case:
94 s against 54 s, same day and VM), so the pixel runs a test starts in a subprocess use this."""
FAST_COMPILE = ("--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true "
                "--xla_cpu_use_fusion_emitters=false")
LOW_LEVEL_ONLY = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
