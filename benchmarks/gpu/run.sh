#!/usr/bin/env bash
# The command for a lent GPU machine (see benchmarks/gpu/README.md):
#
#   bash benchmarks/gpu/run.sh [SUITE ARGS...]            # there, with carry [".whl"]
#   bash benchmarks/gpu/run.sh --dry-run [SUITE ARGS...]  # here, on the CPU, with our venv
#
# GPU mode: installs the carried wheels (.whl/, made by benchmarks/gpu/fetch_wheels.sh) into
# /tmp/site, plus any of .whl/fallback/ whose package the image has at a version outside our
# pyproject.toml range; puts /tmp/site and the repo on PYTHONPATH (our package needs no
# install); prints nvidia-smi, the versions and the JAX devices; then runs
# `python3 -m benchmarks.gpu_suite --out $OUT/gpu` with a time budget that ends the suite
# before the tool's 10-minute limit (DEADLINE_S, default 570 s from the start of this script).
# Everything printed also goes to $OUT/gpu/log.txt. $OUT then holds 6 files in one folder.
#
# Dry-run mode: no installs; OUT defaults to /tmp/largerl_gpu_dry; PYTHON defaults to .venv/bin/python.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
START=$SECONDS

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then
  DRY=1
  shift
fi
if (( DRY )); then
  OUT=${OUT:-/tmp/largerl_gpu_dry}
  PY=${PYTHON:-.venv/bin/python}
  [[ -x "$PY" ]] || PY=python3
else
  if [[ -z "${OUT:-}" ]]; then
    echo "OUT is not set: this mode runs on the GPU machine (use --dry-run here)" >&2
    exit 2
  fi
  PY=python3
fi
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/gpu"
LOG="$OUT/gpu/log.txt"

setup_gpu() {
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "no wheels in .whl/: run bash benchmarks/gpu/fetch_wheels.sh here and pass carry [\".whl\"]"
    return 1
  fi
  # Fallbacks: only for packages the image has at a version outside pyproject.toml's range
  # (checked before /tmp/site is on the path, so against the image's own installation).
  local fallback
  fallback=$("$PY" benchmarks/gpu/pick_fallbacks.py) || return 1
  echo "installing $(ls .whl/*.whl | wc -l) wheels + $(echo -n "$fallback" | grep -c .) fallback(s) into /tmp/site"
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/*.whl $fallback || return 1
  export PYTHONPATH="/tmp/site:$PWD"
  nvidia-smi || echo "nvidia-smi failed"
}

main() {
  echo "run.sh: $(date -u '+%Y-%m-%d %H:%M:%S') UTC, $(uname -m), $(nproc) cpus, dry-run=$DRY, OUT=$OUT"
  if (( DRY )); then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    command -v nvidia-smi >/dev/null && nvidia-smi -L
  else
    setup_gpu || { echo "setup failed"; return 1; }
  fi
  "$PY" - <<'EOF' || echo "JAX or a package failed to import (see above); the suite records each step's error"
import sys
from importlib import metadata
names = ["jax", "jaxlib", "jax-cuda13-plugin", "numpy", "flax", "optax", "chex", "orbax-checkpoint",
         "ml-collections", "mujoco", "mujoco-mjx", "brax"]
def version(n):
    try:
        return metadata.version(n)
    except metadata.PackageNotFoundError:
        return "-"
print("python", sys.version.split()[0], "|", ", ".join(f"{n} {version(n)}" for n in names))
import jax
print("jax devices:", jax.devices())
import brax.envs, mujoco.mjx  # what the benchmarks import
print("brax and mujoco.mjx import ok")
EOF
  local args=("$@")
  if (( ! DRY )) && [[ " ${args[*]} " != *" --budget-s"* ]]; then
    local budget=$(( ${DEADLINE_S:-570} - (SECONDS - START) - 20 ))
    args+=(--budget-s "$budget")
  fi
  (( DRY )) && args=(--dry-run "${args[@]}")
  "$PY" -m benchmarks.gpu_suite --out "$OUT/gpu" "${args[@]}"
}

main "$@" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}

# What comes back from $OUT: at most 8 files, 16 MiB each, two folders deep.
if (( $(stat -c %s "$LOG") > 15 * 1048576 )); then
  tail -c $((15 * 1048576)) "$LOG" > "$LOG.tmp" && mv "$LOG.tmp" "$LOG"
fi
n_files=$(find "$OUT" -type f | wc -l)
echo "run.sh: $n_files files under $OUT ($(du -sh "$OUT" | cut -f1)), exit $status, $((SECONDS - START)) s"
(( n_files <= 8 )) || echo "warning: more than 8 files under \$OUT; only 8 come back"
exit "$status"
