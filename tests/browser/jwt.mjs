// jwt.mjs - HS256 JSON Web Tokens (RFC 7519) made with Node's crypto, an
// implementation independent of porthole-cloud's: the browser tests sign
// their tokens here, so a cloud that accepts them accepts any standard JWT.
// verifyToken() is the stand-in cloud's (authcloud.mjs) check, with
// porthole-cloud's refusal codes (src/cloud/token.h).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/**
 * Signs claims with secret (HS256). iat defaults to now, exp to now + ttlS
 * (default one hour), jti to 16 random bytes; any claim given wins.
 * @returns {string} the compact token
 */
export function mintToken(secret, claims, { ttlS = 3600, header = {} } = {}) {
  const t = now();
  const payload = { iat: t, exp: t + ttlS, jti: randomBytes(16).toString('hex'), ...claims };
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...header }));
  const body = b64url(JSON.stringify(payload));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64url(sig)}`;
}

/** A viewer token: sub, role viewer, robots (patterns), scope. */
export function viewerToken(secret, { sub = 'tester', robots = ['*'], scope = 'watch', ttlS, ...more } = {}) {
  return mintToken(secret, { sub, role: 'viewer', robots, scope, ...more }, { ttlS });
}

/** A robot token for robotId. */
export function robotToken(secret, robotId, { ttlS = 86400 } = {}) {
  return mintToken(secret, { sub: robotId, role: 'robot', robot_id: robotId }, { ttlS });
}

/**
 * Verifies an HS256 token: {claims} or {reason} (token-missing,
 * token-too-large, malformed-token, bad-algorithm, bad-signature,
 * token-expired, token-not-yet-valid, missing-claim, invalid-claim).
 */
export function verifyToken(secret, token, { leewayS = 0, maxLen = 8192 } = {}) {
  if (token === undefined || token === null || token === '') return { reason: 'token-missing' };
  if (typeof token !== 'string') return { reason: 'malformed-token' };
  if (token.length > maxLen) return { reason: 'token-too-large' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return { reason: 'malformed-token' };
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { reason: 'malformed-token' };
  }
  if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return { reason: 'malformed-token' };
  if (header.alg !== 'HS256') return { reason: 'bad-algorithm' };
  const want = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { reason: 'bad-signature' };
  const t = now();
  if (typeof claims.exp !== 'number') return { reason: 'missing-claim' };
  if (claims.exp + leewayS <= t) return { reason: 'token-expired' };
  if (typeof claims.nbf === 'number' && claims.nbf - leewayS > t) return { reason: 'token-not-yet-valid' };
  if (typeof claims.sub !== 'string' || typeof claims.role !== 'string') return { reason: 'missing-claim' };
  if (!['robot', 'viewer'].includes(claims.role)) return { reason: 'invalid-claim' };
  return { claims };
}

/** porthole-cloud's glob: '*' any run of characters, '?' exactly one. */
export function globMatch(pattern, name) {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}
