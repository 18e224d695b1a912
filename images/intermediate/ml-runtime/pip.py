"""pip for the build stages of runtime images, which carry none:

    python /opt/bbc/pip.py install --no-compile --target /tmp/site -r requirements.txt

Fetches the pinned pip wheel from the index /etc/pip.conf names (PIP_INDEX_URL wins), through
the org trust store, checks its sha256, and runs pip from the wheel in a temporary folder
(pip runs from its own wheel, as ensurepip does): nothing of pip stays in any layer.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

WHEEL = "pip-26.3-py3-none-any.whl"
SHA256 = "f3b60b20ffaadd4415ed7957212a38ac63fa4c5fa375bd0f4a797777940fad13"


def index_url() -> str:
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    config = configparser.ConfigParser()
    config.read("/etc/pip.conf")
    return config.get("global", "index-url", fallback="https://pypi.org/simple")


def fetch_wheel(dest: Path) -> Path:
    page = index_url().rstrip("/") + "/pip/"
    with urllib.request.urlopen(page, timeout=60) as resp:
        html = resp.read().decode()
    hrefs = [h for h in re.findall(r'href="([^"]+)"', html) if h.split("#")[0].endswith("/" + WHEEL)
             or h.split("#")[0] == WHEEL]
    if not hrefs:
        raise SystemExit(f"pip.py: {WHEEL} is not listed at {page}")
    with urllib.request.urlopen(urljoin(page, hrefs[0].split("#")[0]), timeout=120) as resp:
        data = resp.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"pip.py: {WHEEL} from {page} has sha256 {digest}, expected {SHA256}")
    wheel = dest / WHEEL
    wheel.write_bytes(data)
    return wheel


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="bbc-pip-") as tmp:
        wheel = fetch_wheel(Path(tmp))
        return subprocess.run([sys.executable, str(wheel / "pip"), *argv], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
