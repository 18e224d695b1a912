"""`bbc verify REF`: is this the image bbc released? Its signature, provenance and SBOM
attestation against trusted public keys, and the provenance against the image's own labels
(bbc/release/signing/verify.py). Exit 0 when everything holds, 1 with the reasons otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bbc.errors import BbcError
from bbc.release.signing import keys as keys_mod
from bbc.release.signing import verify as checks
from bbc.run import report


def split_reference(ref: str) -> tuple[str, str]:
    """`host/repo:tag` or `host/repo@sha256:..` -> (`host/repo`, `tag` or the digest)."""
    name, at, digest = ref.partition("@")
    if at:
        return name, digest
    last = name.rpartition("/")[2]
    if ":" in last:
        return name.rpartition(":")[0], last.rpartition(":")[2]
    raise BbcError(f"{ref!r}: name a tag or a digest", tip="e.g. localhost:5000/acme/base:1.2.0")


def verify(ref: str, key_files: Sequence[Path], *, fmt: str = "table") -> int:
    """`key_files`: the PEM public keys trusted (--key, else bbc.yaml's signing.public_keys)."""
    from bbc.adapters.registry.client import Registry, split_image_name

    keys = keys_mod.load_public_keys(list(key_files))
    name, reference = split_reference(ref)
    host, repository = split_image_name(name)
    verdict = checks.verify(Registry(host), repository, reference, keys)
    if fmt == "json":
        report.dump_json({"reference": ref, "digest": verdict.digest, "verified": verdict.ok,
                          "checks": [{"check": c.what, "ok": c.ok, "detail": c.detail, "digest": c.digest,
                                      "platform": c.platform or None} for c in verdict.checks]})
        return 0 if verdict.ok else 1
    for c in verdict.checks:
        where = f" ({c.platform})" if c.platform else ""
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.what:<11} {c.digest[:19]}{where}: {c.detail}")
    if verdict.ok:
        print(f"verified: {ref} ({verdict.digest})")
        return 0
    print(f"NOT verified: {ref} ({verdict.digest}): " + "; ".join(f.detail for f in verdict.failures[:3]))
    return 1
