"""Signing keys without an online service: ECDSA P-256 pairs in PEM files.

`generate` writes NAME.key (PKCS#8, mode 0600, encrypted with the password in
$BBC_SIGNING_PASSWORD when it is set) and NAME.pub (SubjectPublicKeyInfo). bbc.yaml names the
private key as a path or `env:NAME` (the PEM text in that variable, as CI secrets are passed);
an encrypted key is opened with $BBC_SIGNING_PASSWORD.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bbc.errors import SigningError
from bbc.release.signing.signer import KeyFileSigner, PublicKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

PASSWORD_ENV = "BBC_SIGNING_PASSWORD"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def generate(folder: Path, name: str = "bbc") -> tuple[Path, Path]:
    """Write folder/NAME.key and folder/NAME.pub; (key path, public key path). Refuses to
    replace either file, so a key in use is never lost."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if not _NAME.match(name):
        raise SigningError(f"key name {name!r}: use letters, digits and . _ -", tip="e.g. --name release")
    key_path, pub_path = folder / f"{name}.key", folder / f"{name}.pub"
    for path in (key_path, pub_path):
        if path.exists():
            raise SigningError(f"{path} exists; not replacing a key", tip="pick another --name or folder")
    key = ec.generate_private_key(ec.SECP256R1())
    password = os.environ.get(PASSWORD_ENV, "")
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # created 0600 from the start: the key is never readable by others, not even briefly
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private)
        pub_path.write_bytes(public)
    except OSError as exc:
        raise SigningError(f"writing the key pair in {folder}: {exc.strerror}") from None
    return key_path, pub_path


def load_signer(reference: str, base: Path) -> KeyFileSigner:
    """The signer bbc.yaml's `signing.key` names: `env:NAME` or a path (relative to `base`)."""
    if reference.startswith("env:"):
        variable = reference[4:]
        if not _ENV.match(variable):
            raise SigningError(f"signing.key: {variable!r} is not an environment variable name")
        text = os.environ.get(variable)
        if not text:
            raise SigningError(f"signing.key: ${variable} is not set",
                               tip=f"export {variable} with the PEM text of the private key")
        return KeyFileSigner(_private_key(text.encode(), f"${variable}"), f"${variable}")
    path = Path(reference) if os.path.isabs(reference) else base / reference
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"signing.key: cannot read {path}: {exc.strerror}",
                           tip="`bbc keys generate DIR` writes a key pair") from None
    return KeyFileSigner(_private_key(data, str(path)), str(path))


def _private_key(data: bytes, source: str) -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    password = os.environ.get(PASSWORD_ENV)
    try:
        key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except TypeError:  # encrypted without a password, or a password for a plain key
        tip = (f"set {PASSWORD_ENV}" if not password else f"unset {PASSWORD_ENV}: the key is not encrypted")
        raise SigningError(f"{source}: cannot open the private key", tip=tip) from None
    except ValueError:
        raise SigningError(f"{source}: not a PEM private key, or the wrong password in {PASSWORD_ENV}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(f"{source}: not an ECDSA P-256 key", tip="`bbc keys generate DIR` writes one")
    return key


def load_public_keys(paths: Iterable[Path]) -> list[PublicKey]:
    """Each PEM public key file; an error names the file that is not an ECDSA P-256 key."""
    return [public_key(path.read_bytes() if path.is_file() else _missing(path), str(path)) for path in paths]


def public_key(data: bytes, source: str) -> PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise SigningError(f"{source}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(f"{source}: not an ECDSA P-256 public key")
    return PublicKey(key, source)


def _missing(path: Path) -> bytes:
    raise SigningError(f"public key {path}: no such file", tip="pass --key PEM or list signing.public_keys in bbc.yaml")
