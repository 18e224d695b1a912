// Verify a Sigstore bundle with the reference implementation, offline, by a public key:
// node tests/data/sigstore_verify.cjs BUNDLE.json KEY.pem  -> exit 0 and "verified", or exit 1 and why.
// No transparency log or timestamp authority is reachable: their thresholds are 0.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, keyPath] = process.argv.slice(2);
try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const key = crypto.createPublicKey(fs.readFileSync(keyPath));
  const trust = toTrustMaterial(
    { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
    () => ({ publicKey: key, validFor: () => true }),
  );
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  console.log('verified');
} catch (err) {
  console.log(`rejected: ${err.code || err.name}: ${err.message}`);
  process.exit(1);
}
