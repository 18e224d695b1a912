"""Signed, attested releases (issue 23): keys, signatures, attestations, and their verification.

- keys.py: ECDSA P-256 key pairs in PEM (`bbc keys generate`), loading a signer and public keys.
- signer.py: the Signer protocol (a key file today; keyless or KMS later) and the key-file signer.
- statement.py, provenance.py: in-toto Statements v1: the SLSA v1 provenance and the SBOM.
- bundle.py: a Statement signed into a Sigstore bundle v0.3 (DSSE), and opened again.
- cosign.py: cosign's "simple signing" payload and its `sha256-<hex>.sig` manifest.
- referrers.py: OCI 1.1 artifacts with a `subject`, by the referrers API or the referrers tag schema.
- attach.py: `sign_manifest`, the one call a release makes per released manifest.
- verify.py: what `bbc verify` checks.
"""
