// auth.mjs - the sign-in scenarios of the browser tests (issue #13): the
// viewer page signed in by #token=, the sign-in panel, refused tokens, token
// refresh through the SDK's token function with video playing, and the SDK
// quick start (connect, then openSession at once).
//
// They run against the real porthole-cloud started with --auth-secret.
// Tokens are HS256 JWTs made by jwt.mjs (Node's crypto), not by the cloud,
// so the cloud is shown to take any standard token.

import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeRobot } from './fakerobot.mjs';
import { freePort, launchBrowser, runScenarios, sleep, startCloud, waitFor } from './harness.mjs';
import { robotToken, viewerToken } from './jwt.mjs';
import { startPageRobot } from './pagerobot.mjs';

/** The HS256 secret of the test cloud (at least 32 bytes, as porthole-cloud wants). */
const SECRET = 'porthole-browser-tests-secret-0123456789';
const OTHER_SECRET = 'not-the-secret-of-this-cloud-9876543210';
/** Seconds a connection may go on after its token expired (--token-grace). */
const GRACE_S = 4;

/** Starts the real porthole-cloud with sign-in (an HS256 secret, no clock skew, a short grace). */
async function startAuthBackend({ bin, port, webRoot }) {
  return startCloud({ bin, port, webRoot, extraArgs: ['--auth-secret', SECRET, '--auth-clock-skew', '0',
    '--token-grace', String(GRACE_S)] });
}

/** Runs in the page before its scripts: records every WebSocket it opens and every message it sends. */
function watchSockets() {
  const Native = window.WebSocket;
  window.sockets = [];
  window.sent = [];
  window.WebSocket = class extends Native {
    constructor(url, ...rest) {
      super(url, ...rest);
      window.sockets.push({ url: String(url), at: Date.now() });
    }
    send(data) {
      try { window.sent.push(JSON.parse(data)); } catch { /* not ours */ }
      return super.send(data);
    }
  };
}

const row = (page, id) => page.locator(`#robot-list li[data-robot-id="${id}"]`);

/** What the page shows of sign-in, read in one go. */
function signinState(page) {
  return page.evaluate(() => ({
    shown: !document.querySelector('#signin').hidden,
    why: document.querySelector('#signin-why').textContent,
    status: document.querySelector('#cloud-status').dataset.state,
    statusText: document.querySelector('#cloud-status').textContent,
    signout: !document.querySelector('#signout').hidden,
    field: document.querySelector('#signin-token').value,
    href: location.href,
    stored: Object.keys(sessionStorage).filter((k) => k.startsWith('porthole.token')).map((k) => sessionStorage.getItem(k)),
    html: document.documentElement.outerHTML,
    sockets: (window.sockets || []).map((s) => s.url),
    cloudState: window.portholeViewer?.cloud.state,
  }));
}

/** Waits for the sign-in panel to show a sentence matching re; returns signinState(). */
function promptSays(page, re, what) {
  return waitFor(async () => {
    const s = await signinState(page);
    return s.shown && re.test(s.why) ? s : null;
  }, 5000, `${what}: the sign-in panel says ${re}`);
}

/** Neither the address bar, the DOM, nor any WebSocket URL holds the token. */
function assertTokenHidden(st, token, what) {
  assert.ok(!st.href.includes(token) && !/token=/.test(st.href), `${what}: no token in location.href (${st.href})`);
  assert.ok(!st.html.includes(token), `${what}: the token is nowhere in the page`);
  assert.equal(st.field, '', `${what}: the token field is empty`);
  for (const u of st.sockets) assert.ok(!u.includes(token) && !/token/i.test(u), `${what}: no token in the WebSocket URL ${u}`);
}

/** Frames decoded so far by the SDK test page's session (window.t.session). */
function sdkFrames(page) {
  return page.evaluate(async () => {
    const pc = window.t?.session?.peerConnection;
    if (!pc) return 0;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = Math.max(frames, s.framesDecoded || 0);
    });
    return frames;
  });
}

/**
 * The auth group. `only` selects scenarios ('auth' or names); returns the
 * number that failed. Screenshots go to artifacts; PORTHOLE_DOCS_SIGNIN_SCREENSHOT
 * (a path) also saves the sign-in panel's there.
 */
export async function authGroup({ cloudBin, webRoot, artifacts, only }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const cloud = await startAuthBackend({ bin: cloudBin, port, webRoot });
  const browser = await launchBrowser();
  const fakes = [];
  const stops = [];
  const fake = async (id, opts = {}) => {
    const f = await new FakeRobot(wsUrl, id, { mode: 'silent', token: robotToken(SECRET, id), ...opts }).start();
    fakes.push(f);
    return f;
  };
  const shot = async (page, name) => {
    const path = join(artifacts, `${name}.png`);
    await page.screenshot({ path }).catch(() => {});
    return path;
  };
  const open = (u) => browser.newPage(u, { init: watchSockets });

  const scenarios = [
    { name: 'auth.sdk', async run() {
      // The SDK's token logic against a scripted cloud in the page: every path of docs/VIEWER.md's
      // "Tokens" section, including those a real cloud makes hard to reach on purpose.
      const page = await open(url);
      const r = await page.evaluate(async () => {
        const { connect } = await import('/porthole.js');
        const tick = (ms = 30) => new Promise((res) => setTimeout(res, ms));
        class FakeWS {
          constructor(u) {
            this.url = u;
            this.readyState = 0;
            this.sent = [];
            FakeWS.all.push(this);
            setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0);
          }
          send(d) { this.sent.push(JSON.parse(d)); }
          deliver(m) { this.onmessage?.({ data: JSON.stringify(m) }); }
          close(code = 1000) {
            if (this.readyState === 3) return;
            this.readyState = 3;
            setTimeout(() => this.onclose?.({ code }), 0);
          }
          registers() { return this.sent.filter((m) => m.type === 'client-register'); }
        }
        const welcome = { type: 'available-robots', clientId: 'c1', robots: [] };
        const refuse = (reason, requestType = 'client-register') => ({
          type: 'error', code: 'unauthorized', reason, error: `refused (${reason})`, requestType });
        const last = () => FakeWS.all.at(-1);
        const make = (token, more = {}) => {
          FakeWS.all = [];
          const log = [];
          const cloud = connect('ws://cloud.invalid/ws', { WebSocket: FakeWS, token, minBackoffMs: 20, maxBackoffMs: 40, ...more });
          for (const type of ['state', 'error', 'token-refreshed']) {
            cloud.on(type, (d) => log.push(type === 'error' ? { type, code: d.code, message: d.message, detail: d.detail }
              : { type, ...d }));
          }
          return { cloud, log };
        };
        const out = {};

        // 1. A fixed token: sent in client-register, kept out of cloud.options; token-expired is reported.
        let c = make('tok-fixed');
        await tick();
        out.fixedRegister = last().registers();
        out.optionsHoldToken = JSON.stringify(c.cloud.options).includes('tok-fixed');
        last().deliver(welcome);
        last().deliver({ type: 'error', code: 'token-expired', error: 'the token expired', graceSeconds: 30 });
        await tick();
        out.fixedExpired = c.log.filter((e) => e.type === 'error');
        out.fixedRefreshes = last().sent.filter((m) => m.type === 'refresh-token').length;
        // setToken while open: refresh-token; refused: the error names it, the state stays open.
        c.cloud.setToken('tok-new');
        await tick();
        out.setWhileOpen = last().sent.filter((m) => m.type === 'refresh-token');
        last().deliver(refuse('bad-signature', 'refresh-token'));
        last().deliver({ type: 'token-refreshed', expiresAt: 'soon' }); // malformed: a protocol error
        await tick();
        out.refusedRefresh = c.log.filter((e) => e.type === 'error').slice(1);
        out.stateAfterRefusedRefresh = c.cloud.state;
        out.log1 = JSON.stringify(c.log);
        c.cloud.close();

        // 2. Refused at registration, and the cloud closes the socket: no reconnect until setToken().
        c = make('tok-bad');
        await tick();
        last().deliver(refuse('bad-signature'));
        last().close(1008);
        await tick(200);
        out.refusedSockets = FakeWS.all.length;
        out.refusedState = { state: c.cloud.state, reason: c.cloud.authReason };
        const s = c.cloud.openSession('r1');
        out.refusedSession = await new Promise((res) => s.on('closed', (d) => res(d.reason)));
        out.refusedRequest = await c.cloud.request('r1', 'GET', '/api/x').catch((e) => ({ code: e.code, reason: e.detail?.reason }));
        c.cloud.setToken('tok-good');
        await tick();
        out.afterSetSockets = FakeWS.all.length;
        out.afterSetRegister = last().registers().map((m) => m.token);
        last().deliver(welcome);
        out.afterSetState = c.cloud.state;
        out.log2 = JSON.stringify(c.log);
        c.cloud.close();

        // 3. Refused, the socket kept open: setToken() registers again on it.
        c = make(undefined);
        await tick();
        out.noTokenRegister = last().registers();
        last().deliver({ type: 'error', code: 'unauthorized', reason: 'token-missing', message: 'a token is required',
          requestType: 'client-register' });
        await tick();
        out.missing = c.log.filter((e) => e.type !== 'state' || e.state === 'unauthorized');
        c.cloud.setToken('tok-2');
        await tick();
        out.sameSocket = { sockets: FakeWS.all.length, registers: last().registers().map((m) => m.token ?? null) };
        c.cloud.close();

        // 4. setToken() while the registration is under way: a refusal is retried with the new token,
        //    an acceptance is followed by refresh-token with it.
        c = make('tok-old');
        await tick();
        c.cloud.setToken('tok-newer');
        last().deliver(refuse('token-expired'));
        await tick();
        out.retried = { registers: last().registers().map((m) => m.token), state: c.cloud.state };
        c.cloud.close();
        c = make('tok-old');
        await tick();
        c.cloud.setToken('tok-newer');
        last().deliver(welcome);
        await tick();
        out.refreshedAfter = last().sent.filter((m) => m.type === 'refresh-token').map((m) => m.token);
        c.cloud.close();

        // 5. A token function: asked at connect and on token-expired; its failure means a retry with backoff.
        const reasons = [];
        let fail = true;
        c = make(async ({ reason }) => {
          reasons.push(reason);
          if (fail) { fail = false; throw new Error('token service down'); }
          return `tok-fn-${reasons.length}`;
        });
        await waitUntil(() => FakeWS.all.length === 1);
        out.fnFirstError = c.log.find((e) => e.type === 'error');
        await tick();
        out.fnRegister = last().registers().map((m) => m.token);
        last().deliver(welcome);
        last().deliver({ type: 'error', code: 'token-expired', error: 'expired', graceSeconds: 30 });
        await tick();
        out.fnRefresh = last().sent.filter((m) => m.type === 'refresh-token').map((m) => m.token);
        last().deliver({ type: 'token-refreshed', expiresAt: 4102444800 });
        out.fnReasons = reasons;
        out.fnRefreshed = { expiresAt: c.cloud.tokenExpiresAt, events: c.log.filter((e) => e.type === 'token-refreshed') };
        c.cloud.close();

        // 6. A token function that gives something that is not a token: refused locally, nothing opened.
        c = make(() => 42);
        await tick(100);
        out.notAString = { sockets: FakeWS.all.length, state: c.cloud.state, reason: c.cloud.authReason,
          error: c.log.find((e) => e.type === 'error')?.message };
        c.cloud.close();
        return out;

        async function waitUntil(fn) { for (let i = 0; i < 100 && !fn(); i++) await tick(20); }
      });
      if (process.env.PORTHOLE_TEST_VERBOSE) console.log(JSON.stringify(r, null, 1));
      assert.deepEqual(r.fixedRegister, [{ type: 'client-register', token: 'tok-fixed' }]);
      assert.equal(r.optionsHoldToken, false, 'the token is not in cloud.options');
      assert.deepEqual(r.fixedExpired.map((e) => [e.code, e.detail]), [['token-expired', { graceSeconds: 30 }]]);
      assert.equal(r.fixedRefreshes, 0, 'a fixed token cannot refresh itself');
      assert.deepEqual(r.setWhileOpen, [{ type: 'refresh-token', token: 'tok-new' }], 'setToken() while open sends refresh-token');
      assert.deepEqual(r.refusedRefresh.map((e) => [e.code, e.detail?.reason, e.detail?.requestType]),
        [['unauthorized', 'bad-signature', 'refresh-token'], ['protocol', undefined, undefined]]);
      assert.equal(r.stateAfterRefusedRefresh, 'open', 'a refused refresh leaves the connection open');
      for (const tok of ['tok-fixed', 'tok-new']) assert.ok(!r.log1.includes(tok), `no event carries the token ${tok}`);

      assert.equal(r.refusedSockets, 1, 'refused and closed: no reconnect');
      assert.deepEqual(r.refusedState, { state: 'unauthorized', reason: 'bad-signature' });
      assert.equal(r.refusedSession, 'unauthorized');
      assert.deepEqual(r.refusedRequest, { code: 'unauthorized', reason: 'bad-signature' });
      assert.equal(r.afterSetSockets, 2, 'setToken() opens a new connection');
      assert.deepEqual(r.afterSetRegister, ['tok-good']);
      assert.equal(r.afterSetState, 'open');
      for (const tok of ['tok-bad', 'tok-good']) assert.ok(!r.log2.includes(tok), `no event carries the token ${tok}`);

      assert.deepEqual(r.noTokenRegister, [{ type: 'client-register' }], 'no token: no token field');
      assert.deepEqual(r.missing.map((e) => [e.type, e.code ?? e.state, e.detail?.reason ?? e.reason]),
        [['error', 'unauthorized', 'token-missing'], ['state', 'unauthorized', 'token-missing']]);
      assert.match(r.missing[0].message, /a token is required/, 'the cloud\'s text (in `message`) is kept');
      assert.deepEqual(r.sameSocket, { sockets: 1, registers: [null, 'tok-2'] }, 'registered again on the same socket');

      assert.deepEqual(r.retried, { registers: ['tok-old', 'tok-newer'], state: 'connecting' });
      assert.deepEqual(r.refreshedAfter, ['tok-newer']);

      assert.equal(r.fnFirstError?.code, 'token-unavailable', JSON.stringify(r.fnFirstError));
      assert.match(r.fnFirstError.message, /token service down/);
      assert.deepEqual(r.fnRegister, ['tok-fn-2'], 'the next attempt asks the function again');
      assert.deepEqual(r.fnRefresh, ['tok-fn-3']);
      assert.deepEqual(r.fnReasons, ['connect', 'connect', 'expired']);
      assert.deepEqual(r.fnRefreshed, { expiresAt: 4102444800, events: [{ type: 'token-refreshed', expiresAt: 4102444800 }] });

      assert.deepEqual({ ...r.notAString, error: undefined }, { sockets: 0, state: 'unauthorized', reason: 'invalid-token', error: undefined });
      assert.match(r.notAString.error, /returned a number/);
      await page.close();
    } },
    { name: 'auth.fragment', async run() {
      const token = viewerToken(SECRET, { robots: ['lab-*'] });
      const page = await open(`${url}#token=${token}`);
      await row(page, 'lab-1').waitFor({ timeout: 3000 });
      const st = await signinState(page);
      assert.equal(st.shown, false, 'no sign-in panel');
      assert.equal(st.status, 'open');
      assert.equal(st.href, url, 'the fragment is gone from location.href');
      assert.equal(page.url(), url, 'and from the address bar');
      assert.deepEqual(st.stored, [token], 'the token is kept in this tab\'s sessionStorage');
      assert.equal(st.signout, true, 'Sign out is offered');
      assertTokenHidden(st, token, 'signed in by fragment');
      const register = await page.evaluate(() => window.sent.find((m) => m.type === 'client-register'));
      assert.equal(register.token, token, 'the token went in client-register');
      // A reload signs in again from sessionStorage, with nothing in the URL.
      await page.reload();
      await row(page, 'lab-1').waitFor({ timeout: 3000 });
      assert.equal((await signinState(page)).status, 'open', 'signed in again after a reload');
      // The entry with the token was replaced, not added to: Back leaves the page.
      await page.goBack().catch(() => {});
      assert.ok(!page.url().includes('token'), `Back does not bring the token back: ${page.url()}`);
      await page.close();
    } },
    { name: 'auth.prompt', async run() {
      const page = await open(url);
      const st = await promptSays(page, /requires sign-in/, 'no token');
      assert.equal(st.status, 'unauthorized');
      assert.equal(st.statusText, 'Sign-in required');
      assert.equal(st.signout, false, 'no Sign out without a token');
      assert.equal(await row(page, 'lab-1').count(), 0, 'no robot is listed');
      assert.equal(await page.locator('#signin-token').evaluate((e) => e === document.activeElement), true,
        'the token field has the focus');
      await page.setViewportSize({ width: 1120, height: 520 });
      const path = await shot(page, 'auth-signin');
      await page.setViewportSize({ width: 1280, height: 800 });
      if (process.env.PORTHOLE_DOCS_SIGNIN_SCREENSHOT) copyFileSync(path, process.env.PORTHOLE_DOCS_SIGNIN_SCREENSHOT);
      // The SDK does not knock again while it has no new token.
      await sleep(2500);
      assert.equal((await signinState(page)).sockets.length, 1, 'one WebSocket, no reconnects while unauthorized');
      // Pasting a token (with the stray spaces and "Bearer " a copy brings along) signs in.
      const token = viewerToken(SECRET, { robots: ['lab-*'] });
      await page.locator('#signin-token').fill(`  Bearer ${token}\n`);
      await page.locator('#signin-submit').click();
      await row(page, 'lab-1').waitFor({ timeout: 3000 });
      const after = await signinState(page);
      assert.equal(after.shown, false, 'the panel is gone');
      assert.equal(after.status, 'open');
      assert.deepEqual(after.stored, [token]);
      assert.equal(after.signout, true);
      assertTokenHidden(after, token, 'signed in by the panel');
      // Sign out forgets the token: the page starts again and asks.
      await page.locator('#signout').click();
      const out = await promptSays(page, /requires sign-in/, 'after Sign out');
      assert.deepEqual(out.stored, [], 'the token is forgotten');
      assert.equal(out.signout, false);
      await page.close();
    } },
    { name: 'auth.bad-token', async run() {
      const cases = [
        ['another cloud\'s key', viewerToken(OTHER_SECRET), /not signed with this cloud's key/],
        ['expired', viewerToken(SECRET, { ttlS: -120 }), /has expired/],
        ['a robot\'s token', robotToken(SECRET, 'lab-1'), /robot's token/],
        ['not a JWT', 'hello', /not an access token/],
      ];
      for (const [what, token, re] of cases) {
        const page = await open(`${url}#token=${encodeURIComponent(token)}`);
        const st = await promptSays(page, re, what);
        assert.equal(st.status, 'unauthorized', what);
        assert.equal(st.href, url, `${what}: the fragment is gone anyway`);
        assertTokenHidden(st, token, what);
        if (what === 'expired') await shot(page, 'auth-expired');
        await page.close();
      }
      // A bad token pasted into the panel: its reason replaces the first one.
      const page = await open(url);
      await promptSays(page, /requires sign-in/, 'no token');
      await page.locator('#signin-token').fill(viewerToken(OTHER_SECRET));
      await page.locator('#signin-submit').click();
      const st = await promptSays(page, /not signed with this cloud's key/, 'pasted with another key');
      assert.equal(st.field, '', 'the refused token is not shown either');
      assert.equal(await page.locator('#signin-submit').isDisabled(), false, 'Sign in can be used again');
      await page.close();
    } },
    { name: 'auth.expiry-prompt', async run() {
      // The viewer page with a token that runs out: the panel warns, a pasted token keeps the page connected.
      const short = viewerToken(SECRET, { ttlS: 4 });
      const page = await open(`${url}#token=${short}`);
      await row(page, 'lab-1').waitFor({ timeout: 3000 });
      const st = await promptSays(page, /expired: the cloud disconnects this page in \d+ s/, 'the token ran out');
      assert.equal(st.status, 'open', 'still connected during the grace period');
      const fresh = viewerToken(SECRET);
      await page.locator('#signin-token').fill(fresh);
      await page.locator('#signin-submit').click();
      await waitFor(async () => !(await signinState(page)).shown, 3000, 'the panel goes once the cloud took the new token');
      const sent = await page.evaluate(() => window.sent.filter((m) => m.type === 'refresh-token').map((m) => m.token));
      assert.deepEqual(sent, [fresh], 'the new token went as refresh-token');
      await sleep((GRACE_S + 1) * 1000);
      const later = await signinState(page);
      assert.equal(later.status, 'open', 'past the grace period the page is still connected');
      assert.equal(later.sockets.length, 1, 'on the same WebSocket');
      assert.deepEqual(later.stored, [fresh], 'the new token is the one kept');
      assertTokenHidden(later, fresh, 'after the refresh');
      await page.close();
    } },
    { name: 'auth.refresh', async run() {
      // The SDK with an async token function: the first token lasts 6 s; when the cloud says
      // token-expired the SDK asks the function again and sends refresh-token; the video goes on.
      const robot = await startPageRobot(browser, port, 'lab-video', { token: robotToken(SECRET, 'lab-video') });
      stops.push(() => robot.stop());
      const page = await open(url);
      const calls = [];
      await page.exposeFunction('mintToken', (reason) => {
        calls.push(reason);
        return viewerToken(SECRET, { sub: 'refresher', robots: ['lab-*'], ttlS: calls.length === 1 ? 6 : 3600 });
      });
      await page.evaluate(async (ws) => {
        const { connect } = await import('/porthole.js');
        // (The viewer of this page has a socket of its own, waiting for a token: count from here.)
        const t = { states: [], errors: [], refreshed: [], socketsBefore: window.sockets.length };
        window.t = t;
        t.cloud = connect(ws, { token: async ({ reason }) => window.mintToken(reason) });
        t.cloud.on('state', ({ state }) => t.states.push(state));
        t.cloud.on('error', (e) => t.errors.push(`${e.code}: ${e.message}`));
        t.cloud.on('token-refreshed', ({ expiresAt }) => t.refreshed.push({ expiresAt, session: t.session.state }));
        t.session = t.cloud.openSession('lab-video', { streamTypes: ['color'] });
        const v = document.createElement('video');
        document.body.append(v);
        t.session.attach(v);
      }, wsUrl);
      await waitFor(() => page.evaluate(() => window.t.session.state === 'connected'), 10000, 'the session connected');
      const f0 = await sdkFrames(page);
      await waitFor(async () => (await sdkFrames(page)) > f0 + 15, 8000, 'frames flowing before the expiry');
      await waitFor(() => page.evaluate(() => window.t.refreshed.length === 1), 8000, 'token-refreshed after the expiry');
      // Past the grace period: same connection, same session, more frames.
      await sleep((GRACE_S + 1) * 1000);
      const f1 = await sdkFrames(page);
      await waitFor(async () => (await sdkFrames(page)) > f1 + 15, 5000, 'frames still flowing after the grace period');
      const r = await page.evaluate(() => ({
        states: window.t.states, errors: window.t.errors, refreshed: window.t.refreshed,
        session: window.t.session.state, signaling: window.t.session.signaling,
        sockets: window.sockets.length - window.t.socketsBefore, refreshes: window.sent.filter((m) => m.type === 'refresh-token').length,
      }));
      assert.deepEqual(calls, ['connect', 'expired'], 'the token function was asked at connect and at expiry');
      assert.deepEqual(r.states, ['connecting', 'open'], `no reconnect: ${r.states}`);
      assert.equal(r.sockets, 1, 'one WebSocket all along');
      assert.equal(r.refreshes, 1, 'one refresh-token');
      assert.ok(r.refreshed[0].expiresAt > Date.now() / 1000 + 3000, `expiresAt is the new token's exp: ${JSON.stringify(r.refreshed)}`);
      assert.equal(r.refreshed[0].session, 'connected', 'the video was playing when the token was refreshed');
      assert.equal(r.session, 'connected');
      assert.equal(r.signaling, 'attached');
      assert.deepEqual(r.errors, [], 'no errors');
      await page.evaluate(() => window.t.cloud.close());
      await page.close();
    } },
    { name: 'auth.quickstart', async run() {
      // docs/VIEWER.md's quick start as written, with a token: connect() then openSession() at once.
      const page = await open(url);
      const token = viewerToken(SECRET, { robots: ['lab-*'] });
      const r = await page.evaluate(async ({ ws, tok }) => {
        const { connect } = await import('/porthole.js');
        const cloud = connect(ws, { token: tok });
        const stateAtOpen = cloud.state;
        const session = cloud.openSession('lab-1', { streamTypes: ['color'] });
        const states = [];
        session.on('state', ({ state }) => states.push(state));
        await new Promise((res) => { const t = setInterval(() => { if (session.id || session.state === 'closed') { clearInterval(t); res(); } }, 20); });
        const out = { stateAtOpen, id: session.id, state: session.state, states, error: session.error?.message };
        session.close();
        // Without a token: the session ends with 'unauthorized', the cloud waits for one.
        const bare = connect(ws);
        const s2 = bare.openSession('lab-1');
        out.bare = await new Promise((res) => s2.on('closed', (d) => res({ reason: d.reason, message: d.message })));
        out.bareState = bare.state;
        out.bareReason = bare.authReason;
        bare.close();
        cloud.close();
        return out;
      }, { ws: wsUrl, tok: token });
      assert.equal(r.stateAtOpen, 'connecting', 'openSession was called before the cloud was open');
      assert.match(r.id || '', /^[A-Za-z0-9_-]{22}$/, `the session was created: ${JSON.stringify(r)}`);
      assert.equal(r.state, 'negotiating', 'and waits for the robot\'s offer');
      assert.equal(r.bare.reason, 'unauthorized', `without a token: ${JSON.stringify(r.bare)}`);
      assert.equal(r.bareState, 'unauthorized');
      assert.equal(r.bareReason, 'token-missing');
      await page.close();
    } },
  ];
  try {
    await fake('lab-1');
    return await runScenarios(scenarios, only);
  } finally {
    if (browser.errors.length) console.log(`page errors:\n  ${browser.errors.join('\n  ')}`);
    for (const s of stops) await s();
    for (const f of fakes) await f.stop();
    await browser.close();
    await cloud.stop();
  }
}

