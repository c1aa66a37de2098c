// token-vectors.mjs - JWTs made by an independent implementation (Node's
// built-in crypto, no npm package) for src/cloud/token.c, and the check
// that tokens minted by the C code verify here.
//
//   node token-vectors.mjs --generate DIR
//       writes fresh keys (HS256 secret, RSA, P-256, Ed25519 as PEM and as
//       a JWKS) and vectors.json (tokens with what the C verifier must say
//       of each) into DIR. tests/fixtures/token/ is its committed output.
//   node token-vectors.mjs --check TEST_TOKEN MINT_TOOL
//       generates fresh vectors in a temporary directory, runs the C unit
//       test TEST_TOKEN on them (PORTHOLE_TOKEN_FIXTURES=dir), then has
//       MINT_TOOL (tests/unit/token_mint_tool.c) mint tokens and verifies
//       them here: signature, header and every claim.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const enc = (obj) => b64url(JSON.stringify(obj));

// Signs header.payload with alg, exactly as RFC 7515 / RFC 7518 / RFC 8037 say.
function sign(alg, key, header, payload, opts = {}) {
  const input = `${enc(header)}.${enc(payload)}`;
  let sig;
  if (alg === 'HS256') sig = crypto.createHmac('sha256', key).update(input).digest();
  else if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), key);
  else if (alg === 'ES256')
    sig = crypto.sign('sha256', Buffer.from(input), {
      key,
      dsaEncoding: opts.der ? 'der' : 'ieee-p1363',
    });
  else if (alg === 'EdDSA') sig = crypto.sign(null, Buffer.from(input), key);
  else throw new Error(`unknown alg ${alg}`);
  return `${input}.${b64url(sig)}`;
}

function generate(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  const secret = crypto.randomBytes(36).toString('base64'); // 48 characters
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = crypto.generateKeyPairSync('ed25519');
  const otherEd = crypto.generateKeyPairSync('ed25519');

  const pem = (k) => k.publicKey.export({ type: 'spki', format: 'pem' });
  const jwk = (k, kid, alg) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  fs.writeFileSync(path.join(dir, 'hs256.secret'), `${secret}\n`);
  fs.writeFileSync(path.join(dir, 'rsa.pem'), pem(rsa));
  fs.writeFileSync(path.join(dir, 'ec.pem'), pem(ec));
  fs.writeFileSync(path.join(dir, 'ed25519.pem'), pem(ed));
  const keys = [
    jwk(rsa, 'rsa-1', 'RS256'),
    jwk(ec, 'ec-1', 'ES256'),
    jwk(ed, 'ed-1', 'EdDSA'),
    // Not for Porthole: skipped, as RFC 7517 section 5 asks.
    { kty: 'RSA', use: 'enc', kid: 'rsa-enc', n: jwk(rsa).n, e: jwk(rsa).e },
    { kty: 'OKP', crv: 'X25519', kid: 'x-1', x: b64url(crypto.randomBytes(32)) },
  ];
  fs.writeFileSync(path.join(dir, 'keys.jwks'), `${JSON.stringify({ keys }, null, 2)}\n`);

  const times = { iat: now, exp: now + 3600 };
  const robot = { sub: 'robot-lab-7', role: 'robot', robot_id: 'lab-7', ...times, jti: 'r-1' };
  const viewer = {
    sub: 'alice@example.org', role: 'viewer', robots: ['lab-*', 'dock-?'],
    scope: 'watch control', ...times, jti: 'v-1',
  };
  const hs = { secret_file: 'hs256.secret' };
  const jwks = { jwks_file: 'keys.jwks' };
  const v = (name, keys, token, expect, claims, extra = {}) => ({ name, keys, token, expect, claims, ...extra });
  const vectors = [
    v('hs256-viewer', hs, sign('HS256', secret, { alg: 'HS256', typ: 'JWT' }, viewer), 'ok', viewer),
    v('rs256-robot-pem', { jwks_file: 'rsa.pem' },
      sign('RS256', rsa.privateKey, { alg: 'RS256', typ: 'JWT' }, robot), 'ok', robot),
    v('rs256-robot-jwks', jwks,
      sign('RS256', rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, robot), 'ok', robot),
    v('es256-viewer-pem', { jwks_file: 'ec.pem' },
      sign('ES256', ec.privateKey, { alg: 'ES256' }, viewer), 'ok', viewer),
    v('es256-viewer-jwks', jwks,
      sign('ES256', ec.privateKey, { alg: 'ES256', kid: 'ec-1' }, viewer), 'ok', viewer),
    v('eddsa-robot-pem', { jwks_file: 'ed25519.pem' },
      sign('EdDSA', ed.privateKey, { alg: 'EdDSA' }, robot), 'ok', robot),
    v('eddsa-robot-jwks', jwks,
      sign('EdDSA', ed.privateKey, { alg: 'EdDSA', kid: 'ed-1' }, robot), 'ok', robot),
    v('eddsa-viewer-iss-aud', jwks,
      sign('EdDSA', ed.privateKey, { alg: 'EdDSA', kid: 'ed-1' },
        { ...viewer, iss: 'https://id.example.org', aud: ['other-service', 'porthole'] }),
      'ok', viewer, { issuer: 'https://id.example.org', audience: 'porthole' }),
    // What must be refused, made the same independent way.
    v('es256-der-signature', jwks,
      sign('ES256', ec.privateKey, { alg: 'ES256', kid: 'ec-1' }, viewer, { der: true }),
      'bad-signature'),
    v('eddsa-other-key', jwks,
      sign('EdDSA', otherEd.privateKey, { alg: 'EdDSA', kid: 'ed-1' }, robot), 'bad-signature'),
    v('eddsa-unknown-kid', jwks,
      sign('EdDSA', ed.privateKey, { alg: 'EdDSA', kid: 'ed-9' }, robot), 'unknown-key'),
    v('rs256-against-secret', hs,
      sign('RS256', rsa.privateKey, { alg: 'RS256' }, robot), 'bad-algorithm'),
    // The classic forgery: the RSA public key's PEM text used as an HMAC secret.
    v('hs256-with-public-key-as-secret', { jwks_file: 'rsa.pem' },
      sign('HS256', pem(rsa), { alg: 'HS256' }, robot), 'bad-algorithm'),
    v('none-algorithm', hs, `${enc({ alg: 'none' })}.${enc(robot)}.`, 'bad-algorithm'),
    v('eddsa-expired', jwks,
      sign('EdDSA', ed.privateKey, { alg: 'EdDSA', kid: 'ed-1' },
        { ...robot, iat: now - 7200, exp: now - 3600 }), 'token-expired'),
  ];
  const manifest = { generator: 'tests/unit/token-vectors.mjs (Node crypto)', node: process.version, now, vectors };
  fs.writeFileSync(path.join(dir, 'vectors.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function fail(msg) {
  console.error(`token-vectors: ${msg}`);
  process.exit(1);
}

// Verifies an HS256 token the way any JWT library would.
function verifyHs256(token, secret) {
  const parts = token.split('.');
  if (parts.length !== 3) fail('minted token is not three segments');
  const mac = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const sig = Buffer.from(parts[2], 'base64url');
  if (b64url(sig) !== parts[2]) fail('minted signature is not canonical base64url');
  if (sig.length !== mac.length || !crypto.timingSafeEqual(sig, mac)) fail('minted signature does not verify');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  const payload = JSON.parse(Buffer.from(parts[1], 'base64url'));
  if (header.alg !== 'HS256' || header.typ !== 'JWT') fail(`minted header ${JSON.stringify(header)}`);
  return payload;
}

function expectEqual(what, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function checkMinted(tool, dir) {
  const secretFile = path.join(dir, 'hs256.secret');
  const secret = fs.readFileSync(secretFile, 'utf8').replace(/\n$/, '');
  const mint = (...args) => execFileSync(tool, [secretFile, ...args], { encoding: 'utf8' }).trim();
  const before = Math.floor(Date.now() / 1000);

  const viewer = verifyHs256(mint('--role', 'viewer', '--robots', 'lab-*,dock-1', '--scope', 'control',
    '--ttl', '1h', '--iss', 'porthole-test', '--aud', 'porthole'), secret);
  expectEqual('viewer role', viewer.role, 'viewer');
  expectEqual('viewer robots', viewer.robots, ['lab-*', 'dock-1']);
  expectEqual('viewer scope', viewer.scope, 'control');
  expectEqual('viewer iss', viewer.iss, 'porthole-test');
  expectEqual('viewer aud', viewer.aud, 'porthole');
  expectEqual('viewer lifetime', viewer.exp - viewer.iat, 3600);
  if (viewer.iat < before - 5 || viewer.iat > before + 60) fail(`viewer iat ${viewer.iat} is not now`);
  if (typeof viewer.jti !== 'string' || viewer.jti.length < 16) fail('viewer jti missing');

  const robot = verifyHs256(mint('--role', 'robot', '--robot-id', 'lab-7', '--sub', 'unit-7', '--ttl', '7d'), secret);
  expectEqual('robot claims', [robot.role, robot.robot_id, robot.sub, robot.exp - robot.iat],
    ['robot', 'lab-7', 'unit-7', 7 * 86400]);
  if ('robots' in robot || 'scope' in robot || 'aud' in robot) fail('robot token carries viewer claims or aud');

  // The check itself must be able to fail: a tampered payload is caught.
  const token = mint('--role', 'robot', '--robot-id', 'lab-7', '--ttl', '60s');
  const [h, , s] = token.split('.');
  const forged = `${h}.${enc({ sub: 'x', role: 'robot', robot_id: 'lab-8', exp: before + 60 })}.${s}`;
  const mac = crypto.createHmac('sha256', secret).update(forged.split('.').slice(0, 2).join('.')).digest();
  if (b64url(mac) === s) fail('tampered token verified');
  console.log('token-vectors: tokens minted by C verify with Node crypto');
}

const [mode, a, b] = process.argv.slice(2);
if (mode === '--generate' && a) {
  generate(a);
} else if (mode === '--check' && a && b) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-token-'));
  try {
    generate(dir);
    execFileSync(a, [], { stdio: 'inherit', env: { ...process.env, PORTHOLE_TOKEN_FIXTURES: dir } });
    console.log('token-vectors: fresh Node-made vectors verify in C');
    checkMinted(b, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
} else {
  fail('usage: token-vectors.mjs --generate DIR | --check TEST_TOKEN MINT_TOOL');
}
