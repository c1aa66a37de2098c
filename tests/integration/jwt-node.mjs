// jwt-node.mjs - JWTs made by an independent implementation (Node's
// built-in crypto, no npm package) for tests/integration/test_cloud_auth.c:
// the cloud must accept standard tokens it did not mint itself.
//
//   node jwt-node.mjs keys DIR
//       writes DIR/keys.jwks (the public Ed25519 key "ed-1" and P-256 key
//       "ec-1", as porthole-cloud --auth-jwks reads them), DIR/private.json
//       (their private halves, for `sign`) and DIR/hs256.secret.
//   node jwt-node.mjs sign DIR ALG CLAIMS_JSON [TTL_SECONDS]
//       prints a token of CLAIMS_JSON signed with ALG (EdDSA, ES256 or
//       HS256) by DIR's keys, with iat = now and exp = now + TTL (3600 by
//       default; negative for an expired token).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function keys(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const ed = crypto.generateKeyPairSync('ed25519');
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = (k, kid, alg) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  fs.writeFileSync(path.join(dir, 'keys.jwks'),
    JSON.stringify({ keys: [pub(ed, 'ed-1', 'EdDSA'), pub(ec, 'ec-1', 'ES256')] }));
  fs.writeFileSync(path.join(dir, 'private.json'), JSON.stringify({
    ed: ed.privateKey.export({ format: 'jwk' }),
    ec: ec.privateKey.export({ format: 'jwk' }),
  }));
  fs.writeFileSync(path.join(dir, 'hs256.secret'), crypto.randomBytes(36).toString('base64'));
}

function sign(dir, alg, claims, ttl) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { ...claims, iat: now, exp: now + ttl };
  const priv = JSON.parse(fs.readFileSync(path.join(dir, 'private.json'), 'utf8'));
  const header = { alg, typ: 'JWT' };
  if (alg === 'EdDSA') header.kid = 'ed-1';
  if (alg === 'ES256') header.kid = 'ec-1';
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  let sig;
  if (alg === 'EdDSA') {
    sig = crypto.sign(null, Buffer.from(input), crypto.createPrivateKey({ key: priv.ed, format: 'jwk' }));
  } else if (alg === 'ES256') {
    sig = crypto.sign('sha256', Buffer.from(input),
      { key: crypto.createPrivateKey({ key: priv.ec, format: 'jwk' }), dsaEncoding: 'ieee-p1363' });
  } else if (alg === 'HS256') {
    const secret = fs.readFileSync(path.join(dir, 'hs256.secret'), 'utf8');
    sig = crypto.createHmac('sha256', secret).update(input).digest();
  } else {
    throw new Error(`unknown alg ${alg}`);
  }
  return `${input}.${b64url(sig)}`;
}

const [cmd, dir, alg, claims, ttl] = process.argv.slice(2);
if (cmd === 'keys' && dir) {
  keys(dir);
} else if (cmd === 'sign' && dir && alg && claims) {
  console.log(sign(dir, alg, JSON.parse(claims), ttl === undefined ? 3600 : Number(ttl)));
} else {
  console.error('usage: jwt-node.mjs keys DIR | sign DIR ALG CLAIMS_JSON [TTL]');
  process.exit(2);
}
