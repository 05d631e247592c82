"""A dependency-free progress line: env steps/s, gradient steps/s, ETA, last evaluation return."""
from __future__ import annotations

import sys
import time


def _fmt_rate(rate: float) -> str:
    if rate != rate:
        return "--"
    return f"{rate:.1f}" if rate < 10 else f"{rate:,.0f}"


def _fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    def __init__(self, total_env_steps: int, enabled: bool = True, stream=None):
        self.total = total_env_steps
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last_eval = None
        self._last_print = 0.0
        self._prev = None  # (time, env_steps, grad_steps) at the previous update
        self._rates = (float("nan"), float("nan"))

    def update(self, env_steps: int, grad_steps: int, eval_return=None, force=False, note: str = ""):
        """Rates are measured between consecutive updates (one chunk), so the first chunk's
        compilation does not drag the later figures down."""
        now = time.perf_counter()
        if eval_return is not None:
            self.last_eval = eval_return
        if self._prev is not None and now > self._prev[0]:
            dt = now - self._prev[0]
            self._rates = ((env_steps - self._prev[1]) / dt, (grad_steps - self._prev[2]) / dt)
        self._prev = (now, env_steps, grad_steps)
        if not self.enabled:
            return
        # Without a terminal, print a line at most every 10 s so CI logs stay short.
        if not self.tty and not force and now - self._last_print < 10.0:
            return
        self._last_print = now
        env_rate, grad_rate = self._rates
        eta = (self.total - env_steps) / env_rate if env_rate > 0 else float("nan")
        frac = min(env_steps / self.total, 1.0)
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        ev = "n/a" if self.last_eval is None else f"{self.last_eval:.1f}"
        note = f" | {note}" if note else ""
        line = (
            f"[{bar}] {env_steps}/{self.total} env steps | {_fmt_rate(env_rate)} env/s | "
            f"{_fmt_rate(grad_rate)} grad/s | ETA {_fmt_time(eta)} | eval {ev}{note}"
        )
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self):
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
