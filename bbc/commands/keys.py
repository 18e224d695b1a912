"""`bbc keys generate DIR`: a signing key pair for releases (bbc/release/signing/keys.py)."""

from __future__ import annotations

import os
from pathlib import Path

from bbc.release.signing import keys


def generate(folder: Path, *, name: str = "bbc") -> int:
    key_path, pub_path = keys.generate(folder, name)
    encrypted = "encrypted with $" + keys.PASSWORD_ENV if os.environ.get(keys.PASSWORD_ENV) else "not encrypted"
    print(f"wrote {key_path} (private, mode 0600, {encrypted}) and {pub_path} (public)")
    print(f"keep {key_path.name} secret (a CI secret: signing.key: env:NAME); commit {pub_path.name} and list it "
          "under signing.public_keys in bbc.yaml")
    return 0
