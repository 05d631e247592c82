"""Installed versions of named packages, for the benchmarks' reports.

    python package_versions.py NAME...   # prints {name: version or null} as one JSON line

Imports only the standard library, so that another interpreter (the peers' virtualenv) can run
this file by its path and report its own packages.
"""
from __future__ import annotations

import json
import sys
from importlib import metadata


def package_versions(names) -> dict:
    """{name: version} of this interpreter's installation; None for a package it lacks."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


if __name__ == "__main__":
    print(json.dumps(package_versions(sys.argv[1:])))
