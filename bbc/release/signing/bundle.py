"""A signed Statement as a Sigstore bundle v0.3: a DSSE envelope, the public key named by its hint,
no transparency-log entries and no timestamps (no Rekor or TSA is reachable: a key signs alone).

The bundle types are sigstore-models' (the pydantic models sigstore-python 4 reads and writes
bundles with: camelCase names, base64 bytes, the oneof rules checked on parsing). DSSE's
pre-authentication encoding is one line of the DSSE spec, written here: securesystemslib's
Envelope has it too, but verifies only by its own key ids and Key objects, and signs at random.
@sigstore/verify checks what this module writes in the tests.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bbc.errors import SigningError
from bbc.release.signing.signer import PublicKey, Signer
from bbc.release.signing.statement import PAYLOAD_TYPE, parse

MEDIA_TYPE: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature is over."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def sign(statement: bytes, signer: Signer) -> bytes:
    """The bundle (JSON bytes) of `statement` signed by `signer`; the same inputs, the same bytes."""
    from sigstore_models.bundle.v1 import Bundle, VerificationMaterial
    from sigstore_models.common.v1 import PublicKeyIdentifier
    from sigstore_models.intoto import Envelope, Signature

    signature = signer.sign(pae(PAYLOAD_TYPE, statement))
    # the models take protobuf's JSON form of bytes (base64) and decode it on validation
    envelope = Envelope(payload=_b64(statement), payload_type=PAYLOAD_TYPE,  # type: ignore[arg-type]
                        signatures=[Signature(sig=_b64(signature), keyid=signer.hint)])  # type: ignore[arg-type]
    bundle = Bundle(media_type=MEDIA_TYPE, dsse_envelope=envelope,
                    verification_material=VerificationMaterial(public_key=PublicKeyIdentifier(hint=signer.hint),
                                                               tlog_entries=[]))
    return bundle.to_json().encode()


@dataclass(frozen=True)
class Opened:
    """A bundle whose signature verified: the statement it signs and the key that signed it."""

    statement: dict[str, Any]
    predicate_type: str
    key: PublicKey


def open_bundle(raw: bytes, keys: Sequence[PublicKey], where: str) -> Opened:
    """The statement inside bundle `raw`, once a DSSE signature verifies with one of `keys`;
    SigningError saying why not (not a bundle, not DSSE, signed by no key given, tampered)."""
    from pydantic import ValidationError
    from sigstore_models.bundle.v1 import Bundle

    try:
        bundle = Bundle.from_json(raw)
    except ValidationError as exc:
        raise SigningError(f"{where}: not a Sigstore bundle ({exc.error_count()} problems: "
                           f"{exc.errors()[0]['msg']})") from None
    envelope = bundle.dsse_envelope
    if envelope is None or envelope.payload_type != PAYLOAD_TYPE:
        raise SigningError(f"{where}: the bundle holds no DSSE envelope of an in-toto statement")
    hint = bundle.verification_material.public_key.hint if bundle.verification_material.public_key else None
    # the hint is unauthenticated: it only says which key to try first
    ordered = sorted(keys, key=lambda k: k.hint != hint)
    signed = pae(envelope.payload_type, envelope.payload)
    for key in ordered:
        if any(key.verifies(s.sig, signed) for s in envelope.signatures):
            data = parse(envelope.payload, where)
            return Opened(data, str(data.get("predicateType", "")), key)
    raise SigningError(f"{where}: the signature does not verify with "
                       f"{', '.join(k.source for k in keys) or 'no key'} (signed by another key, or tampered)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
