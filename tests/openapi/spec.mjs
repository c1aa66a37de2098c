// spec.mjs - reads docs/openapi.yaml and checks HTTP answers against it,
// for tests/openapi/validate.mjs: finds the operation of a request (the
// path templates, the robot's optional trailing slash, the cloud's robot
// proxy of `x-porthole-proxy: robot`), resolves $refs, and validates the
// status, media type and body with ajv's JSON Schema 2020-12 (the dialect
// of OpenAPI 3.1).
//
// The YAML is parsed by Debian's python3-yaml (a real YAML parser; there is
// none among the npm packages), into JSON.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;

export const ROBOT_SERVER = 'http://127.0.0.1:8000';
export const CLOUD_SERVER = 'http://localhost:3001';
const COMPONENTS_ID = 'https://porthole.invalid/openapi/components';

/** Parses the YAML file at path with python3-yaml. Throws with the reason. */
export function loadYaml(path) {
  const r = spawnSync('python3', ['-c',
    'import json, sys, yaml\njson.dump(yaml.safe_load(open(sys.argv[1], encoding="utf-8")), sys.stdout)', path],
  { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python3-yaml could not read ${path}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The value at a local JSON pointer ('#/a/b') of doc, or undefined. */
function pointer(doc, ref) {
  let v = doc;
  for (const raw of ref.replace(/^#\//, '').split('/')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Every $ref in value (path of keys, ref). */
function* refsIn(value, at = '#') {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* refsIn(value[i], `${at}/${i}`);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') yield [at, v];
      else yield* refsIn(v, `${at}/${k}`);
    }
  }
}

/** A deep copy of a schema with '#/components/schemas/X' refs pointing into the registered components. */
function rewriteRefs(value, inside) {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, inside));
  if (!value || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
      const name = v.slice('#/components/schemas/'.length);
      out[k] = inside ? `#/$defs/${name}` : `${COMPONENTS_ID}#/$defs/${name}`;
    } else {
      out[k] = rewriteRefs(v, inside);
    }
  }
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export class Spec {
  /** @param {object} doc the parsed OpenAPI document */
  constructor(doc) {
    this.doc = doc;
    this.ajv = new Ajv2020({
      allErrors: true,
      strict: true,
      formats: {
        // RFC 3339 date-time, as the cloud writes it (2026-12-07T02:16:14.085Z).
        'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
      },
    });
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(doc.components?.schemas || {}, true) });
    this.validators = new Map();
    this.routes = [];
    for (const [template, item] of Object.entries(doc.paths || {})) {
      const server = item.servers?.[0]?.url;
      const proxy = item['x-porthole-proxy'] === 'robot';
      let params = 0;
      const source = template.replace(/\/$/, '').split(/(\{[^}]+\})/).map((part) => {
        if (!part.startsWith('{')) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        params++;
        return proxy && part === '{robotPath}' ? '(.+)' : '([^/]+)';
      }).join('');
      // The robot takes every path with or without its trailing slash.
      const optional = server === ROBOT_SERVER || item['x-porthole-trailing-slash'] === 'optional';
      const re = new RegExp(`^${source}${optional ? '/?' : template.endsWith('/') ? '/' : ''}$`);
      this.routes.push({ template, item, server, proxy, params, re });
    }
    // Concrete paths before templated ones, fewer parameters first, the proxy last.
    this.routes.sort((a, b) => (a.proxy - b.proxy) || (a.params - b.params) || (b.template.length - a.template.length));
  }

  /** Structural problems of the document itself: unresolved $refs, operations without responses, repeated operationIds. */
  problems() {
    const out = [];
    if (!/^3\.1\.\d+$/.test(this.doc.openapi || '')) out.push(`openapi is ${this.doc.openapi}, not 3.1.x`);
    for (const [at, ref] of refsIn(this.doc)) {
      if (!ref.startsWith('#/') || pointer(this.doc, ref) === undefined) out.push(`${at}: $ref ${ref} does not resolve`);
    }
    const ids = new Map();
    for (const { template, item, server } of this.routes) {
      if (server !== ROBOT_SERVER && server !== CLOUD_SERVER) out.push(`${template}: servers[0] is neither the robot nor the cloud`);
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        if (!op.responses || Object.keys(op.responses).length === 0) out.push(`${m.toUpperCase()} ${template}: no responses`);
        if (op.operationId) {
          if (ids.has(op.operationId) && ids.get(op.operationId) !== op) out.push(`operationId ${op.operationId} repeats`);
          ids.set(op.operationId, op);
        }
      }
    }
    return out;
  }

  /** Every operation of the document as 'METHOD template'. */
  operations() {
    const out = [];
    for (const { template, item } of this.routes) {
      for (const m of METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${template}`);
    }
    return out.sort();
  }

  /** The route and operation for method and path (query ignored) on server, or null. */
  find(server, method, path) {
    const p = path.split('?')[0];
    for (const r of this.routes) {
      if (r.server !== server) continue;
      const m = r.re.exec(p);
      if (!m) continue;
      const op = r.item[method.toLowerCase()];
      return { route: r, op: op || null, match: m, key: `${method.toUpperCase()} ${r.template}` };
    }
    return null;
  }

  _resolve(v) {
    let x = v;
    for (let i = 0; x && typeof x.$ref === 'string' && i < 16; i++) x = pointer(this.doc, x.$ref);
    return x;
  }

  _validator(schema) {
    const key = JSON.stringify(schema);
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(rewriteRefs(schema, false));
      this.validators.set(key, v);
    }
    return v;
  }

  /** The response object of op for status (exact, then 4XX-style, then default), or null. */
  _response(op, status) {
    const rs = op?.responses || {};
    const r = rs[String(status)] ?? rs[`${String(status)[0]}XX`] ?? rs.default;
    return r ? this._resolve(r) : null;
  }

  /**
   * Checks one answer. `res` is {status, type (the Content-Type header),
   * text (the body)}. Returns {operation, errors: [...]} (no errors: it
   * matches). Behind the cloud's robot proxy the answer may be the proxy's
   * own (its responses) or the robot's (the robot operation's responses).
   */
  check(server, method, path, res) {
    const found = this.find(server, method, path);
    const errors = [];
    if (!found || !found.op) {
      // The robot answers any path it does not have with 404 (RobotError).
      if (server === ROBOT_SERVER && !found) {
        return { operation: `${method} (unknown robot path)`, errors: this._checkResponse(
          this._resolve({ $ref: '#/components/responses/RobotError' }), res, res.status === 404 ? [] : [`status ${res.status}, expected 404 for an unknown path`]) };
      }
      // A path that does not take the method: 405 with Allow (on the robot, and the cloud's /api/).
      if (found && (server === ROBOT_SERVER || path.startsWith('/api/'))) {
        const r = this._resolve({ $ref: '#/components/responses/MethodNotAllowed' });
        const e = res.status === 405 ? [] : [`status ${res.status}, expected 405 for a method the path does not take`];
        return { operation: `${method} ${found.route.template} (not allowed)`, errors: this._checkResponse(r, res, e) };
      }
      return { operation: null, errors: [`no operation for ${method} ${path} on ${server}`] };
    }
    const candidates = [];
    const own = this._response(found.op, res.status);
    if (own) candidates.push(['the operation', own]);
    if (found.route.proxy) {
      const robotPath = `/api/${found.match[2]}`;
      const inner = this.find(ROBOT_SERVER, method, robotPath);
      const r = inner?.op ? this._response(inner.op, res.status)
        : !inner ? this._resolve({ $ref: '#/components/responses/RobotError' }) : null;
      if (r) candidates.push([`the robot's ${inner?.key || 'unknown path'}`, r]);
    }
    if (candidates.length === 0) {
      errors.push(`status ${res.status} is not documented for ${found.key}`);
      return { operation: found.key, errors };
    }
    // It matches when any candidate response matches.
    const tries = candidates.map(([what, r]) => [what, this._checkResponse(r, res, [])]);
    const ok = tries.find(([, e]) => e.length === 0);
    if (!ok) for (const [what, e] of tries) errors.push(...e.map((x) => `${what}: ${x}`));
    return { operation: found.key, errors };
  }

  _checkResponse(response, res, errors) {
    for (const [name, h] of Object.entries(response.headers || {})) {
      const value = res.headers?.[name.toLowerCase()];
      if (value === undefined) {
        if (h.required) errors.push(`header ${name} is missing`);
      } else if (h.schema && !this._validator(h.schema)(value)) {
        errors.push(`header ${name}: ${JSON.stringify(value)} does not match ${JSON.stringify(h.schema)}`);
      }
    }
    const content = response.content;
    if (!content) {
      if (res.text.length) errors.push(`status ${res.status} documents no body, got ${res.text.length} bytes`);
      return errors;
    }
    const type = (res.type || '').split(';')[0].trim().toLowerCase();
    const media = content[type] ?? content['*/*'];
    if (!media) {
      errors.push(`media type '${type}' is not documented (${Object.keys(content).join(', ')})`);
      return errors;
    }
    if (!media.schema) return errors;
    let body = res.text;
    if (type === 'application/json') {
      try {
        body = JSON.parse(res.text);
      } catch (e) {
        errors.push(`the body is not JSON: ${e.message}`);
        return errors;
      }
    }
    const validate = this._validator(media.schema);
    if (!validate(body)) {
      for (const e of validate.errors) errors.push(`body${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    }
    return errors;
  }
}
