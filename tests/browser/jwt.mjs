// jwt.mjs - HS256 JSON Web Tokens (RFC 7519) made with Node's crypto, an
// implementation independent of porthole-cloud's: the browser tests sign
// their tokens here, so a cloud that accepts them accepts any standard JWT.

import { createHmac, randomBytes } from 'node:crypto';

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
