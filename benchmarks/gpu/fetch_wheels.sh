#!/usr/bin/env bash
# Downloads into .whl/ (repo root, git-ignored) the wheels that the lent GPU machine's image
# lacks for the GPU benchmarks, for CPython 3.12 on manylinux x86_64, pinned to the versions of
# our development venv. Run it here (it needs PyPI); benchmarks/gpu/run.sh installs them there.
#
#   bash benchmarks/gpu/fetch_wheels.sh          # download, check the size, print the list
#   bash benchmarks/gpu/fetch_wheels.sh --list   # only print the pins, one per line
#
# How the list was made: the Requires-Dist closure of what our package needs (mujoco,
# mujoco-mjx, brax, ml-collections; pyproject.toml), minus the packages of the image listed in
# benchmarks/gpu/image_packages.txt. tests/benchmarks/test_gpu_suite.py checks that closure
# against REQUIRED below and the pins against the venv.
set -euo pipefail

# Not in the image: always installed there.
REQUIRED=(
  brax==0.14.2
  mujoco==4.0.1
  mujoco-core==4.0.1
  mujoco-studio==4.0.1
  mujoco-studio-wasm==4.0.1
  mujoco-mjx==3.17.0
  ml-collections==1.1.0
  jaxopt==0.8.5
  trimesh==5.2.0
  tensorboardX==2.6.5
  flask==3.1.3
  flask-cors==6.0.5
  blinker==1.9.0
  itsdangerous==2.2.0
  glfw==2.11.0
  PyOpenGL==3.1.10
  websockets==17.4
)
# In the image, at versions not known here: run.sh installs one of these only when the image's
# version is outside our pyproject.toml range. They go to .whl/fallback/.
FALLBACK=(
  flax==0.12.8
  optax==0.2.8
  chex==0.1.92
  orbax-checkpoint==0.12.8
)
MAX_MIB=${MAX_MIB:-45}

if [[ "${1:-}" == "--list" ]]; then
  printf 'required %s\n' "${REQUIRED[@]}"
  printf 'fallback %s\n' "${FALLBACK[@]}"
  exit 0
fi

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${PYTHON:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python3

platforms=()
for n in 39 38 37 36 35 34 33 32 31 30 29 28 27 26 25 24 23 22 21 20 19 18 17; do
  platforms+=(--platform "manylinux_2_${n}_x86_64")
done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
download() {  # download DIR PIN...
  local dir=$1; shift
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp "${platforms[@]}" -d "$dir" "$@" \
    2> >(grep -v '^WARNING: Location' >&2)  # this machine's pip config names absent local indexes
}

rm -rf .whl
mkdir -p .whl/fallback
download .whl "${REQUIRED[@]}"
download .whl/fallback "${FALLBACK[@]}"

# One wheel per pin, no strays (two versions of one package stop the install there).
n_req=$(find .whl -maxdepth 1 -type f -name '*.whl' | wc -l)
n_fb=$(find .whl/fallback -maxdepth 1 -type f -name '*.whl' | wc -l)
if (( n_req != ${#REQUIRED[@]} || n_fb != ${#FALLBACK[@]} )); then
  echo "expected ${#REQUIRED[@]} + ${#FALLBACK[@]} wheels, got $n_req + $n_fb" >&2
  exit 1
fi

echo "wheels in .whl/ (installed on the GPU machine):"
(cd .whl && ls -l *.whl | awk '{printf "  %8.2f MiB  %s\n", $5 / 1048576, $9}')
echo "fallback wheels in .whl/fallback/ (installed only where the image's version is out of range):"
(cd .whl/fallback && ls -l *.whl | awk '{printf "  %8.2f MiB  %s\n", $5 / 1048576, $9}')
total=$(du -sb .whl | cut -f1)
printf 'total: %.2f MiB (limit %s MiB)\n' "$(echo "$total / 1048576" | bc -l)" "$MAX_MIB"
if (( total > MAX_MIB * 1048576 )); then
  echo "too large: the working tree plus carried paths must stay under 64 MiB" >&2
  exit 1
fi
if git check-ignore -q .whl/x.whl; then
  echo ".whl/ is git-ignored (carry it: carry=[\".whl\"])"
else
  echo "warning: .whl/ is not git-ignored; add /.whl/ to .gitignore" >&2
  exit 1
fi
