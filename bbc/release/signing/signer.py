"""Who signs: a protocol, so keyless (Fulcio) or KMS signing can be added beside the key file.

Signatures are ECDSA P-256 over SHA-256, DER-encoded (what cosign, DSSE verifiers and
@sigstore/verify expect), and deterministic (RFC 6979): the same payload signed again gives
the same bytes, so a release run again writes nothing new.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey


class Signer(Protocol):
    """Signs payloads for a release; `hint` names its public key in bundles."""

    @property
    def hint(self) -> str:
        """The public key's id (hex SHA-256 of its DER SubjectPublicKeyInfo)."""
        ...

    def public_key(self) -> PublicKey:
        """The key a verifier needs."""
        ...

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA signature over SHA-256(data); the same `data` always gives the same bytes."""
        ...


@dataclass(frozen=True)
class PublicKey:
    """A trusted public key: the key and where it came from (for messages)."""

    key: EllipticCurvePublicKey
    source: str

    @property
    def hint(self) -> str:
        return key_hint(self.key)

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` (DER) is this key's over SHA-256(data)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


class KeyFileSigner:
    """Signs with a private key read from a PEM file or an environment variable (bbc/release/signing/keys.py)."""

    def __init__(self, key: EllipticCurvePrivateKey, source: str) -> None:
        self._key = key
        self.source = source

    def __repr__(self) -> str:
        return f"KeyFileSigner({self.source!r})"

    @property
    def hint(self) -> str:
        return key_hint(self._key.public_key())

    def public_key(self) -> PublicKey:
        return PublicKey(self._key.public_key(), self.source)

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        # RFC 6979: the nonce comes from the key and the message, never from a random source
        return self._key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


def key_hint(key: EllipticCurvePublicKey) -> str:
    """hex SHA-256 of the DER SubjectPublicKeyInfo: a stable id for the key."""
    from cryptography.hazmat.primitives import serialization

    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()
