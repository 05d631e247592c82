"""Ratios and PASS/FAIL goal lines shared by the parts of ``benchmarks.peers``."""
from __future__ import annotations


def ratio(a, b):
    """a / b to 3 decimals; None where either side was not measured."""
    return round(a / b, 3) if a is not None and b else None


def goal(name: str, value, threshold: float, unit: str) -> dict:
    """PASS where ``value >= threshold``, FAIL below it, N/A where it was not measured."""
    if value is None:
        return {"goal": name, "status": "N/A", "value": None, "threshold": threshold, "detail": "not measured"}
    status = "PASS" if value >= threshold else "FAIL"
    return {"goal": name, "status": status, "value": value, "threshold": threshold,
            "detail": f"{value:.3g}{unit} vs >= {threshold:g}{unit}"}
