"""A trained policy as plain NumPy: load a file written by ``largerl_jax.export.writer`` (or
``python -m experiments.export``) and act where JAX is not installed. This module imports
NumPy and the standard library only, so it also works copied on its own next to a user's code.

    policy = load_policy("policy.npz")
    action = policy(obs)   # obs [N, *obs_shape] or one [*obs_shape]; float32 actions in [-1, 1]

File format: one ``.npz``, read with ``allow_pickle=False``.

* ``format_version`` (int): FORMAT_VERSION. A file of any other version is refused, since its
  ops or keys may mean something else.
* ``config_name`` (str): the run's config ('pendulum_sac', or 'GRID/POINT' for a grid point).
* ``agent`` (str): the agent ('sac', 'sac_v1', 'td3', each optionally '+ofenet'; 'sac_pixels').
* ``obs_shape`` (int [k]): one observation, ``[obs_dim]`` flat or ``[H, W, C]`` for frame stacks.
* ``obs_dtype`` (str): 'float32', or 'uint8' for frame stacks.
* ``act_dim`` (int).
* ``program`` (str): JSON list of ops run in order. Each op reads the values named in its
  ``in`` and stores its result under ``out``; the first input is the value 'obs', the action
  is the value 'action'. Array attributes name entries of the file.
* ``info`` (str): JSON about where the policy came from (seed, env step); not read here.
* ``params/<network>/<layer path>/<name>`` (float32): the arrays the ops name; the path is the
  Flax variable path inside that network.

Ops (deterministic acting only; train-time state such as batch statistics never changes):

    pixels      x.astype(float32) / 255
    conv        VALID convolution of NHWC x with ``kernel`` [kh, kw, in, out] and ``bias``,
                strides ``stride`` in both directions
    flatten     [N, ...] -> [N, prod(...)] in row-major order
    dense       x @ kernel + bias (a spectral norm's 1/sigma is folded into the kernel)
    batch_norm  (x - mean) * (scale / sqrt(var + eps)) + bias with running statistics
    layer_norm  normalised over the last axis, then * scale + bias
    relu, swish, tanh
    scale       x * scale, one factor per feature. With ``optional: true`` a missing array
                means 1: such slots follow every maskable hidden layer and hold the
                evaluation-mode gate scales of pruned networks (pi * alive) when there are any
    add         in[0] + in[1]
    sub         in[0] - in[1]
    concat      along the last axis
    add_constant          x + ``value`` (a float)
    append_constant       one more feature of value ``value`` at the end of the last axis
    l2_normalize          x / max(||x||, ``eps``) over the last axis (SimbaV2's hyperspherical
                          networks)
"""
from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np

FORMAT_VERSION = 1
PARAMS_PREFIX = "params/"
_META_KEYS = ("format_version", "config_name", "agent", "obs_shape", "obs_dtype", "act_dim", "program")


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    kh, kw = kernel.shape[:2]
    # windows [N, H', W', C, kh, kw] as a view; the stride picks every stride-th window start
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    return np.tensordot(windows, kernel, axes=([3, 4, 5], [2, 0, 1])) + bias


def _batch_norm(x, mean, var, scale, bias, eps: float) -> np.ndarray:
    return (x - mean) * (scale / np.sqrt(var + np.float32(eps))) + bias


def _layer_norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    # Flax's statistics: var = E[x^2] - E[x]^2, clipped at 0
    mean = x.mean(axis=-1, keepdims=True)
    var = np.maximum(np.square(x).mean(axis=-1, keepdims=True) - np.square(mean), 0.0)
    return (x - mean) * (scale / np.sqrt(var + np.float32(eps))) + bias


def _l2_normalize(x: np.ndarray, eps: float) -> np.ndarray:
    return x / np.maximum(np.sqrt(np.square(x).sum(axis=-1, keepdims=True)), np.float32(eps))


def _append_constant(x: np.ndarray, value: float) -> np.ndarray:
    return np.concatenate([x, np.full(x.shape[:-1] + (1,), value, np.float32)], axis=-1)


def _swish(x: np.ndarray) -> np.ndarray:
    # sigmoid through tanh: no overflow in exp for large |x|
    return x * (np.float32(0.5) * (np.float32(1.0) + np.tanh(np.float32(0.5) * x)))


def _scale(op: dict, xs: list, arrays: dict) -> np.ndarray:
    factor = arrays.get(op["scale"])
    return xs[0] if factor is None else xs[0] * factor


# op -> f(op, inputs, arrays); ``arrays`` maps file keys to arrays
_OPS: dict[str, Callable[[dict, list, dict], np.ndarray]] = {
    "pixels": lambda op, xs, a: xs[0].astype(np.float32) / np.float32(255.0),
    "conv": lambda op, xs, a: _conv(xs[0], a[op["kernel"]], a[op["bias"]], int(op["stride"])),
    "flatten": lambda op, xs, a: xs[0].reshape(xs[0].shape[0], -1),
    "dense": lambda op, xs, a: xs[0] @ a[op["kernel"]] + a[op["bias"]],
    "batch_norm": lambda op, xs, a: _batch_norm(xs[0], a[op["mean"]], a[op["var"]], a[op["scale"]], a[op["bias"]],
                                                op["eps"]),
    "layer_norm": lambda op, xs, a: _layer_norm(xs[0], a[op["scale"]], a[op["bias"]], op["eps"]),
    "relu": lambda op, xs, a: np.maximum(xs[0], np.float32(0.0)),
    "swish": lambda op, xs, a: _swish(xs[0]),
    "tanh": lambda op, xs, a: np.tanh(xs[0]),
    "scale": _scale,
    "add": lambda op, xs, a: xs[0] + xs[1],
    "sub": lambda op, xs, a: xs[0] - xs[1],
    "concat": lambda op, xs, a: np.concatenate(xs, axis=-1),
    "add_constant": lambda op, xs, a: xs[0] + np.float32(op["value"]),
    "append_constant": lambda op, xs, a: _append_constant(xs[0], op["value"]),
    "l2_normalize": lambda op, xs, a: _l2_normalize(xs[0], op["eps"]),
}
# attributes of each op that name arrays (an optional 'scale' may be absent from the file)
_ARRAY_ATTRS = {
    "conv": ("kernel", "bias"),
    "dense": ("kernel", "bias"),
    "batch_norm": ("mean", "var", "scale", "bias"),
    "layer_norm": ("scale", "bias"),
    "scale": ("scale",),
}


def check_program(program: list, arrays: dict) -> None:
    """Raises ValueError on an op this loader does not know, a value used before it is made, a
    missing array, or a program that never makes 'action': the errors show at load time, not
    at the first observation."""
    made = {"obs"}
    for i, op in enumerate(program):
        kind = op.get("op")
        if kind not in _OPS:
            raise ValueError(f"program op {i} is {kind!r}, which this loader does not know (ops: {sorted(_OPS)})")
        unknown = [name for name in op["in"] if name not in made]
        if unknown:
            raise ValueError(f"program op {i} ({kind}) reads {unknown} before any op makes them")
        for attr in _ARRAY_ATTRS.get(kind, ()):
            if op[attr] not in arrays and not (kind == "scale" and op.get("optional")):
                raise ValueError(f"program op {i} ({kind}) needs array {op[attr]!r}, which the file lacks")
        made.add(op["out"])
    if "action" not in made:
        raise ValueError("program never makes the value 'action'")


class NumpyPolicy:
    """The deterministic policy of a policy file; see the module docstring for the format."""

    def __init__(self, program: list, arrays: dict, meta: dict):
        check_program(program, arrays)
        self.program = program
        self.arrays = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
        self.format_version = int(meta["format_version"])
        self.config_name = str(meta["config_name"])
        self.agent = str(meta["agent"])
        self.obs_shape = tuple(int(d) for d in meta["obs_shape"])
        self.obs_dtype = str(meta["obs_dtype"])
        self.act_dim = int(meta["act_dim"])
        self.info: dict[str, Any] = dict(meta.get("info", {}))

    def __call__(self, obs) -> np.ndarray:
        """Actions float32 [N, act_dim] for obs [N, *obs_shape], or [act_dim] for one observation."""
        x = np.asarray(obs)
        single = x.ndim == len(self.obs_shape)
        if single:
            x = x[None]
        if x.ndim != len(self.obs_shape) + 1 or x.shape[1:] != self.obs_shape:
            raise ValueError(f"observations must have shape [N, {', '.join(map(str, self.obs_shape))}] "
                             f"or [{', '.join(map(str, self.obs_shape))}], got {list(np.shape(obs))}")
        if self.obs_dtype == "float32":
            x = x.astype(np.float32, copy=False)
        values = {"obs": x}
        for op in self.program:
            values[op["out"]] = _OPS[op["op"]](op, [values[name] for name in op["in"]], self.arrays)
        action = np.asarray(values["action"], np.float32)
        return action[0] if single else action


def _text(value: np.ndarray) -> str:
    return str(value[()])


def load_policy(path: str) -> NumpyPolicy:
    """The policy stored in ``path``. ValueError when the file is not a policy file or is of a
    format version this loader does not read."""
    with np.load(path, allow_pickle=False) as f:
        if "format_version" not in f.files:
            raise ValueError(f"{path} is not a policy file of largerl_jax.export: it has no format_version")
        version = int(f["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path} is a policy file of format version {version}, but this loader reads version "
                f"{FORMAT_VERSION} only; load it with the largerl_jax version that wrote it"
            )
        missing = [k for k in _META_KEYS if k not in f.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}: it is not a complete policy file")
        meta = {k: f[k] for k in _META_KEYS}
        meta["config_name"], meta["agent"], meta["obs_dtype"] = (
            _text(meta["config_name"]), _text(meta["agent"]), _text(meta["obs_dtype"]))
        meta["info"] = json.loads(_text(f["info"])) if "info" in f.files else {}
        program = json.loads(_text(meta.pop("program")))
        arrays = {k: f[k] for k in f.files if k.startswith(PARAMS_PREFIX)}
    return NumpyPolicy(program, arrays, meta)
