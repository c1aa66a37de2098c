// types.mjs - checks web/porthole.d.ts with the TypeScript compiler from
// npm (package-lock.json): `tsc --noEmit` over usage.ts (every part of the
// public API, and misuse marked @ts-expect-error) must pass, and over bad.ts
// (three type errors) must fail with exactly those errors, so this test
// can fail. Also checks that every export of porthole.js is declared.
//
//   node tests/sdk/types.mjs        (from anywhere; exits 0 when all hold)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const tsc = join(root, 'node_modules/.bin/tsc');

if (!existsSync(tsc)) {
  console.log(`SKIPPED: ${tsc} is missing; run \`npm ci\` at the repository root`);
  process.exit(77);
}

function run(config) {
  const r = spawnSync(tsc, ['--noEmit', '--pretty', 'false', '-p', join(here, config)],
    { cwd: root, encoding: 'utf8', timeout: 120000 });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const good = run('tsconfig.json');
assert.equal(good.code, 0, `tsc refused usage.ts:\n${good.out}`);
console.log('ok: usage.ts compiles against web/porthole.d.ts (and its misuse lines are refused)');

const bad = run('tsconfig.bad.json');
assert.notEqual(bad.code, 0, 'tsc accepted bad.ts, which has type errors');
const errs = bad.out.split('\n').filter((l) => /bad\.ts\(\d+,\d+\): error TS\d+/.test(l));
const lines = errs.map((l) => Number(/bad\.ts\((\d+),/.exec(l)[1]));
assert.deepEqual([...new Set(lines)].sort((a, b) => a - b), [6, 7, 8],
  `bad.ts should fail on lines 6, 7 and 8 only:\n${bad.out}`);
console.log(`ok: bad.ts is refused (${errs.length} errors)`);

// Every export of the module is declared (a new export needs its declaration).
const sdk = await import('../../web/porthole.js');
const dts = readFileSync(join(root, 'web/porthole.d.ts'), 'utf8');
const missing = Object.keys(sdk).filter((name) =>
  !new RegExp(`export declare (?:const|function|class) ${name}\\b`).test(dts));
assert.deepEqual(missing, [], `exports of porthole.js without a declaration: ${missing.join(', ')}`);
console.log(`ok: all ${Object.keys(sdk).length} exports of porthole.js are declared`);
