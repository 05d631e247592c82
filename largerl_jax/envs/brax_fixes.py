"""Model-option fixes applied to Brax systems before use (filled in after NaN probing)."""
from __future__ import annotations


def patch_system(name: str, backend: str, sys):
    return sys
