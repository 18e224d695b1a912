"""Collect web's serving stack for iris-api: every distribution web's requirements name, copied
file by file as its RECORD lists it (the dist-info with it), into DEST/site-packages, and its
console scripts into DEST/bin. Nothing is installed again: iris-api runs exactly the Flask and
gunicorn web pins and tests (one pin in the organisation; a fix there rebuilds iris-api).

Run in web's build (the `serving` stage): python3 serving.py REQUIREMENTS DEST
"""

from __future__ import annotations

import importlib.metadata as metadata
import shutil
import sys
from pathlib import Path


def names(requirements: Path) -> list[str]:
    out = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            out.append(line.split("==", 1)[0].strip())
    return out


def main(requirements: Path, dest: Path) -> int:
    site, scripts = dest / "site-packages", dest / "bin"
    for name in names(requirements):
        dist = metadata.distribution(name)
        base = Path(str(dist.locate_file("")))
        for entry in dist.files or ():
            source = Path(str(dist.locate_file(entry))).resolve()
            if "__pycache__" in entry.parts or not source.is_file():
                continue
            if entry.parts[:1] == ("..",):  # ../../../bin/gunicorn: a console script
                target = scripts / source.name
            else:
                target = site / source.relative_to(base.resolve())
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        print(f"serving: {dist.metadata['Name']} {dist.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
