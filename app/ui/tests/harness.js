// harness.js — shared test setup: a tiny static server for app/ui, headless
// Debian Chromium through playwright-core (never a downloaded browser), a page
// with the mock Tauri backend and a paused fake clock, scripted data, and
// screenshots under <repo>/target/ui-screenshots/.

import http from 'node:http';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { mockTauri } from './mock-tauri.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const UI_ROOT = path.resolve(HERE, '..');
export const REPO_ROOT = path.resolve(UI_ROOT, '..', '..');
export const SHOT_DIR = path.join(REPO_ROOT, 'target', 'ui-screenshots');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

// The policy a Tauri build can ship: nothing inline, nothing from elsewhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'";

/** Serves app/ui on 127.0.0.1 (random port) with a strict CSP. */
export async function startServer() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.resolve(UI_ROOT, `.${rel}`);
    if (!file.startsWith(UI_ROOT + path.sep) || file.includes(`${path.sep}node_modules${path.sep}`)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'content-security-policy': CSP,
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Launches Debian's headless Chromium. playwright-core gives every launch a
 * fresh temporary user-data dir and removes it on close.
 */
export async function launch() {
  if (!fsSync.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (see test.sh)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return { browser, close: () => browser.close() };
}

// --- scripted data -------------------------------------------------------------------

/** The fake "now" of every test: 2025-04-01 10:00:00 in Tokyo. */
export const T0 = Date.parse('2025-04-01T01:00:00Z');
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

export const STATE = {
  setUp: true,
  credentialId: 'ONEP12345674',
  relayUrl: 'https://relay.onepush.example',
  pinBeforeApprove: false,
  pinSet: false,
  language: 'system',
};

export const ACCOUNTS = [
  { tenant_id: 'jweb', tenant_name: 'みらい銀行', user_id: 'keiri01', state: 'active', enrolled_at: iso(T0 - 86400e3 * 30) },
  { tenant_id: 'jweb', tenant_name: 'みらい銀行', user_id: 'admin', state: 'active', enrolled_at: iso(T0 - 86400e3 * 29) },
  { tenant_id: 'sakura', tenant_name: 'Sakura Trust Bank', user_id: 'ops-7', state: 'suspended', enrolled_at: iso(T0 - 86400e3 * 3) },
];

const base = {
  tenant_id: 'jweb',
  tenant_name: 'みらい銀行',
  user_id: 'keiri01',
  number_matching: false,
  nonce: 'bm9uY2U',
  status: 'pending',
  created_at: iso(T0 - 5000),
  expires_at: iso(T0 + 55000),
};

export const CHALLENGES = {
  login: {
    ...base,
    id: '0195f0a2-0000-7000-8000-00000000000a',
    kind: 'login',
    context: { ip: '203.0.113.7', user_agent: 'Chrome 124 / Windows 11', location: '東京都千代田区' },
  },
  loginNumber: {
    ...base,
    id: '0195f0a2-0000-7000-8000-00000000000b',
    kind: 'login',
    number_matching: true,
    context: { ip: '198.51.100.23', user_agent: 'Firefox 125 / macOS' },
  },
  transaction: {
    ...base,
    id: '0195f0a2-0000-7000-8000-00000000000c',
    kind: 'transaction',
    context: {
      amount: '1000000',
      currency: 'JPY',
      payee_name: 'カ)ヤマダショウジ',
      payee_account: 'みずほ 本店 普通 1234567',
      transfer_date: '2025-04-01',
    },
  },
  usd: {
    ...base,
    id: '0195f0a2-0000-7000-8000-00000000000d',
    kind: 'transaction',
    context: { amount: '1234567.89', currency: 'USD', payee_name: 'ACME Corp.', payee_account: 'US 021000021 0001234567' },
  },
  bidi: {
    ...base,
    id: '0195f0a2-0000-7000-8000-00000000000e',
    kind: 'transaction',
    // Right-to-left override: a naive display would read "Good Payee gpj.exe".
    context: { amount: '50000', currency: 'JPY', payee_name: 'Evil\u202Eexe.gpj\u202C Payee', payee_account: '\u2066999\u2069-0001' },
  },
  admin: {
    ...base,
    id: '0195f0a2-0000-7000-8000-00000000000f',
    kind: 'admin',
    user_id: 'admin',
    context: { operation: 'reset_login_password', target_user_id: 'keiri02' },
  },
  expired: {
    ...base,
    id: '0195f0a2-0000-7000-8000-000000000010',
    kind: 'login',
    status: 'expired',
    created_at: iso(T0 - 120000),
    expires_at: iso(T0 - 60000),
    context: { ip: '203.0.113.7', user_agent: 'Chrome 124 / Windows 11' },
  },
};

export const HISTORY = [
  { id: 'h1', kind: 'transaction', tenantName: 'みらい銀行', userId: 'keiri01', status: 'approved', notMe: false, answeredAt: iso(T0 - 3600e3), context: CHALLENGES.transaction.context },
  { id: 'h2', kind: 'login', tenantName: 'みらい銀行', userId: 'keiri01', status: 'approved', notMe: false, answeredAt: iso(T0 - 7200e3), context: CHALLENGES.login.context },
  { id: 'h3', kind: 'login', tenantName: 'みらい銀行', userId: 'keiri01', status: 'denied', notMe: true, answeredAt: iso(T0 - 86400e3), context: { ip: '192.0.2.66', user_agent: 'curl/8' } },
  { id: 'h4', kind: 'admin', tenantName: 'みらい銀行', userId: 'admin', status: 'expired', notMe: false, answeredAt: iso(T0 - 90000e3), context: CHALLENGES.admin.context },
  { id: 'h5', kind: 'transaction', tenantName: 'Sakura Trust Bank', userId: 'ops-7', status: 'denied', notMe: false, answeredAt: iso(T0 - 172800e3), context: CHALLENGES.usd.context },
];

/** A full set of answers for a set-up device; override per test. */
export function responses(overrides = {}) {
  return {
    get_config: { relayUrl: 'https://relay.onepush.example' },
    get_state: STATE,
    codes: { __seq: [{ current: '492039', next: '118274', secondsLeft: 12 }, { current: '118274', next: '730615', secondsLeft: 30 }] },
    accounts: ACCOUNTS,
    pending: [],
    history: HISTORY,
    approve: { __decide: 'approved' },
    deny: { __decide: 'denied' },
    set_settings: { __settings: true },
    reset: { __settings: { setUp: false, credentialId: null, relayUrl: null, pinBeforeApprove: false, pinSet: false } },
    setup: { __settings: { setUp: true, credentialId: STATE.credentialId } },
    challenges: Object.fromEntries(Object.values(CHALLENGES).map((c) => [c.id, c])),
    push_status: { pluginEvents: false, channel: null },
    ...overrides,
  };
}

// --- pages -------------------------------------------------------------------------------

/**
 * Opens the app in a new context: phone viewport, the given language
 * (navigator.language), Tokyo time, the mock backend and a fake clock paused
 * at T0. Fails the test on any page error or console error (CSP included).
 */
export async function openApp(env, { lang = 'ja', colorScheme = 'light', resp = responses(), wait = '#screen-home' } = {}) {
  const context = await env.browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    locale: lang === 'ja' ? 'ja-JP' : 'en-US',
    timezoneId: 'Asia/Tokyo',
    colorScheme,
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.addInitScript(mockTauri, { responses: resp });
  await page.clock.install({ time: T0 - 10000 });
  await page.clock.pauseAt(T0);
  await page.goto(env.url);
  if (wait) await page.locator(wait).waitFor({ state: 'visible' });
  page.problems = problems;
  return page;
}

/** Commands the page sent, optionally of one name. */
export async function calls(page, cmd) {
  return page.evaluate((c) => (c ? window.__mock.callsOf(c) : window.__mock.calls), cmd);
}

/** Fires a plugin event (`core.addPluginListener`) in the page. */
export async function emitPlugin(page, plugin, event, payload) {
  await page.evaluate(([p, e, d]) => window.__mock.emitPlugin(p, e, d), [plugin, event, payload]);
}

/** Emits a backend event into the page. */
export async function emit(page, event, payload) {
  await page.evaluate(([e, p]) => window.__mock.emit(e, p), [event, payload]);
}

/**
 * Saves a screenshot as target/ui-screenshots/<name>-<lang>.png: the phone
 * width, as tall as the content (at least 740 px), so the fixed bottom
 * navigation sits where it would on a long phone.
 */
export async function shot(page, name, lang) {
  await fs.mkdir(SHOT_DIR, { recursive: true });
  // Let (fake) timers settle, then the frame catch up with the DOM.
  await page.clock.runFor(500);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 360, height: Math.max(740, height) });
  await new Promise((r) => setTimeout(r, 200));
  await page.screenshot({ path: path.join(SHOT_DIR, `${name}-${lang}.png`), animations: 'disabled' });
  await page.setViewportSize({ width: 360, height: 740 });
}

/** Closes the page's context after checking nothing went wrong in it. */
export async function done(page, assert) {
  const problems = page.problems || [];
  await page.context().close();
  assert.deepEqual(problems, [], 'page errors or console errors');
}

/** Starts the server and the browser once per test file; call the result's close() in after(). */
export async function environment() {
  const server = await startServer();
  const b = await launch();
  return {
    url: server.url,
    browser: b.browser,
    close: async () => {
      await b.close();
      await server.close();
    },
  };
}
