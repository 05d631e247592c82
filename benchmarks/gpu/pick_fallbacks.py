"""Which fallback wheels (.whl/fallback/) to install on the GPU machine.

    python3 benchmarks/gpu/pick_fallbacks.py [--pyproject=pyproject.toml] [--wheels=.whl/fallback]

A fallback wheel is our pinned version of a package that the GPU image already has (flax,
optax, chex, orbax-checkpoint). It is chosen, its path printed on stdout, only where the
running interpreter's own installation of that package is missing or outside the range of
pyproject.toml's dependencies; each decision is explained on stderr. Run it before /tmp/site
is on the path, so that it sees the image's versions.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pick(pyproject: str, wheels: str) -> list[str]:
    with open(pyproject, "rb") as f:
        reqs = {canon(r.name): r for r in map(Requirement, tomllib.load(f)["project"]["dependencies"])}
    chosen = []
    for whl in sorted(glob.glob(os.path.join(wheels, "*.whl"))):
        name = canon(os.path.basename(whl).split("-")[0])
        req = reqs.get(name)
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        ok = have is not None and (req is None or req.specifier.contains(have, prereleases=True))
        wanted = str(req.specifier) if req is not None and req.specifier else "any"
        print(f"  {name}: installed {have}, pyproject wants {wanted} -> "
              f"{'keep the installed one' if ok else 'install ' + os.path.basename(whl)}", file=sys.stderr)
        if not ok:
            chosen.append(whl)
    return chosen


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pyproject", default="pyproject.toml")
    p.add_argument("--wheels", default=os.path.join(".whl", "fallback"))
    args = p.parse_args()
    for whl in pick(args.pyproject, args.wheels):
        print(whl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
