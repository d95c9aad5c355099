"""Print the wheels in a folder that this Python can install, one path a line.

Usage:
    python3 scripts/gpu/compatible_wheels.py .device/wheels

On the GPU machine's Python 3.12 that is every wheel of the bundle. Elsewhere (the check's
``--cpu`` mode on another Python) the wheels built for 3.12 only are named on stderr and
left out: this Python has those packages installed already, at the same versions
(``scripts/device_bundle.py`` pins the versions installed where the bundle is built).
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    supported = set(sys_tags())
    for path in sorted(Path(argv[0]).glob("*.whl")):
        _, _, _, tags = parse_wheel_filename(path.name)
        if tags & supported:
            print(path)
        else:
            print(f"left out {path.name}: not for this Python", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
