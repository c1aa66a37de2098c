// harness.mjs - what the browser tests share: free ports, porthole-cloud and
// porthole-robot processes, headless Debian chromium through playwright-core,
// bounded waits, and cleanup of everything started (also on failure).
//
// Every process started here is registered and killed when the test process
// exits, however it exits.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Chromium flags from ../shared/FACTS.md: loopback ICE, nothing leaves the host. */
export const CHROMIUM_FLAGS = Object.freeze([
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
]);
export const CHROMIUM = process.env.PORTHOLE_CHROMIUM || '/usr/bin/chromium';

const children = new Set();
const tempDirs = new Set();

function killAll() {
  for (const p of children) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130); });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls fn() (sync or async) until it returns a truthy value, and returns
 * that value; throws `timed out after N ms: what` otherwise. Exceptions from
 * fn count as "not yet" (the last one is reported).
 */
export async function waitFor(fn, timeoutMs, what, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** A temporary directory, removed when the process exits (or by the caller). */
export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/**
 * Starts a process, keeps the last lines of its output for failure reports,
 * and registers it for cleanup. Returns {proc, log(), stop(signal, ms)}.
 */
export function startProcess(name, cmd, args, env = {}) {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const lines = [];
  const keep = (chunk) => {
    for (const l of chunk.toString().split('\n')) {
      if (!l) continue;
      lines.push(l);
      if (lines.length > 200) lines.shift();
      if (process.env.PORTHOLE_TEST_VERBOSE) console.log(`  [${name}] ${l}`);
    }
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    children.delete(proc);
    resolve({ code, signal });
  }));
  proc.once('error', (e) => lines.push(`spawn error: ${e.message}`));
  return {
    name,
    proc,
    exited,
    log: () => lines.join('\n'),
    lines,
    running: () => proc.exitCode === null && proc.signalCode === null,
    /** Sends signal and waits up to ms for the exit, then SIGKILLs. */
    async stop(signal = 'SIGTERM', ms = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), ms);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** GETs http://127.0.0.1:port/path and returns the parsed JSON, or throws. */
export async function getJson(port, path) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}

/**
 * Starts porthole-cloud on 127.0.0.1:port (with extraArgs, e.g.
 * ['--request-timeout', '1']) and waits until /health answers.
 */
export async function startCloud({ bin, port, webRoot, extraArgs = [] }) {
  const p = startProcess('cloud', bin, ['--port', String(port), '--bind', '127.0.0.1',
    '--web-root', webRoot, '--log-level', 'info', ...extraArgs]);
  await waitFor(async () => {
    if (!p.running()) throw new Error(`porthole-cloud exited:\n${p.log()}`);
    return (await getJson(port, '/health')).status === 'ok';
  }, 10000, `porthole-cloud to answer /health on port ${port}`);
  return p;
}

/**
 * Starts the real porthole-robot against the cloud on port and waits until
 * the cloud lists it. Each robot serves its REST API on a port of its own
 * (the default, 8000, would collide between robots).
 */
export async function startRobot({ bin, port, robotId, extraArgs = [] }) {
  const apiPort = await freePort();
  const p = startProcess(`robot ${robotId}`, bin, ['--cloud-url', `ws://127.0.0.1:${port}/ws`,
    '--robot-id', robotId, '--ice-allow', '127.0.0.1', '--log-level', 'info',
    '--api-port', String(apiPort), ...extraArgs]);
  await waitFor(async () => {
    if (!p.running()) throw new Error(`porthole-robot exited:\n${p.log()}`);
    const robots = await getJson(port, '/robots');
    return robots.some((r) => r.robotId === robotId);
  }, 15000, `porthole-robot '${robotId}' to register with the cloud`);
  return p;
}

/**
 * Launches headless Debian chromium (never a downloaded browser) with the
 * FACTS.md flags and a fresh user-data-dir, removed on close. Returns
 * {context, newPage(url, {init}), close()}; camera and microphone are
 * granted to each origin passed to newPage (Chromium gathers loopback
 * candidates only then); `init` (a function) runs in the page before any of
 * its scripts (page.addInitScript), e.g. to watch its WebSockets.
 */
export async function launchBrowser() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`cannot load playwright-core; run \`npm ci\` at the repository root: ${e.message}`);
  }
  const userDataDir = tempDir('porthole-chromium-');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    timeout: 30000,
  });
  context.setDefaultTimeout(10000);
  const granted = new Set();
  const errors = [];
  return {
    context,
    errors,
    async newPage(url, { init = null } = {}) {
      const origin = new URL(url).origin;
      if (!granted.has(origin)) {
        await context.grantPermissions(['camera', 'microphone'], { origin });
        granted.add(origin);
      }
      const page = await context.newPage();
      if (init) await page.addInitScript(init);
      page.on('pageerror', (e) => errors.push(`${url}: uncaught ${e.message}`));
      page.on('console', (m) => {
        if (process.env.PORTHOLE_TEST_VERBOSE) console.log(`  [page] ${m.type()}: ${m.text()}`);
      });
      await page.goto(url);
      return page;
    },
    async close() {
      try { await context.close(); } catch { /* already gone */ }
      rmSync(userDataDir, { recursive: true, force: true });
      tempDirs.delete(userDataDir);
    },
  };
}

/** Where screenshots go (created). */
export function artifactsDir() {
  const d = process.env.PORTHOLE_ARTIFACTS || join(process.cwd(), 'test-artifacts');
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * Runs named scenarios one after another and reports each; returns the
 * number that failed. A scenario is {name, run: async () => {}}; `only`
 * (names or prefixes) selects some. With `chained` the scenarios build on
 * each other: selecting one runs those before it too, and the first failure
 * skips the rest (reported as failed).
 */
export async function runScenarios(scenarios, only = [], { chained = false } = {}) {
  let failed = 0;
  let passed = 0;
  const picked = (s) => !only.length || only.some((o) => s.name === o || s.name.startsWith(`${o}.`));
  let last = scenarios.length - 1;
  if (chained) while (last >= 0 && !picked(scenarios[last])) last--;
  let broken = null;
  for (const [i, s] of scenarios.entries()) {
    if (chained ? i > last : !picked(s)) continue;
    if (broken) {
      failed++;
      console.log(`FAIL ${s.name}: not run, it needs ${broken}`);
      continue;
    }
    const t0 = Date.now();
    try {
      await s.run();
      passed++;
      console.log(`ok   ${s.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      if (chained) broken = s.name;
      console.log(`FAIL ${s.name} (${Date.now() - t0} ms): ${e.stack || e}`);
      if (s.onFail) {
        try { await s.onFail(e); } catch { /* best effort */ }
      }
    }
  }
  console.log(`browser tests: ${passed} passed, ${failed} failed`);
  return failed;
}
