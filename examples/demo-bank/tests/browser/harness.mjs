// Starts the relay, the demo bank and emulated phones for the browser tests, and
// drives Debian's chromium with playwright-core (never a downloaded browser).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../../../..');
const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target');
const BIN = join(TARGET, process.env.ONEPUSH_PROFILE || 'debug');
export const SHOTS = join(TARGET, 'demo-bank-screenshots');
export const CONTRACT = '1234567';
export const LOGIN_PASSWORD = 'demo1234';
export const APPROVAL_PASSWORD = 'appr1234';
export const STAFF_PASSWORD = 'staff1234';

const children = [];
const watchers = [];

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

async function waitHttp(url, name) {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not start at ${url}`);
}

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.lines = [];
  child.waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let value = line;
    try { value = JSON.parse(line); } catch { /* text line */ }
    child.lines.push(value);
    child.waiters = child.waiters.filter((w) => !w(value));
  });
  child.stderrText = '';
  child.stderr.on('data', (d) => { child.stderrText += d; });
  return child;
}

/** Waits for a stdout line (JSON when it parses) that matches `pred`. */
export function lineOf(child, pred, ms = 30000) {
  const found = child.lines.find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no matching line; stderr: ${child.stderrText}`)), ms);
    child.waiters.push((v) => (pred(v) ? (clearTimeout(timer), ok(v), true) : false));
  });
}

/** Relay + bank in a fresh temp folder. */
export async function startWorld({ ttl = 10 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'onepush-bank-browser-'));
  const [relayPort, bankPort] = [await freePort(), await freePort()];
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const bankUrl = `http://127.0.0.1:${bankPort}`;
  const relayArgs = ['--data-dir', join(dir, 'relay')];
  const tenant = JSON.parse(execFileSync(join(BIN, 'onepush-relay'), [...relayArgs, 'tenant', 'add', 'demo-bank',
    '--display-name', 'OnePushデモ銀行', '--json'], { encoding: 'utf8' }));
  // The operations listener on a free port: another relay on this machine may hold 8421.
  start(join(BIN, 'onepush-relay'), [...relayArgs, 'serve', '--listen', `127.0.0.1:${relayPort}`],
    { ONEPUSH_HTTP__PUBLIC_URL: relayUrl, ONEPUSH_HTTP__ADMIN_LISTEN: '127.0.0.1:0' });
  await waitHttp(`${relayUrl}/healthz`, 'the relay');
  start(join(BIN, 'onepush-demo-bank'), ['--listen', `127.0.0.1:${bankPort}`, '--relay-url', relayUrl,
    '--data-dir', join(dir, 'bank'), '--ttl-seconds', String(ttl)], { ONEPUSH_BANK_API_KEY: tenant.api_key });
  await waitHttp(`${bankUrl}/healthz`, 'the demo bank');
  mkdirSync(SHOTS, { recursive: true });
  return { dir, relayUrl, bankUrl };
}

/** `onepush-relay ARGS…` on the world's relay data (the operator's CLI); answers stdout. */
export function relayCli(world, ...args) {
  return execFileSync(join(BIN, 'onepush-relay'), ['--data-dir', join(world.dir, 'relay'), ...args],
    { encoding: 'utf8', env: { ...process.env, ONEPUSH_LOG: 'warn' } });
}

/**
 * An emulated phone (its own `--home`), provisioned at the relay; with `kind: 'otp'` a
 * code-only token (a PC token: codes, no push approvals).
 */
export function newPhone(world, name, { kind } = {}) {
  const home = join(world.dir, `phone-${name}`);
  const base = [join(BIN, 'onepush-device'), ['--home', home, '--insecure-no-pin']];
  const run = (...args) => JSON.parse(execFileSync(base[0], [...base[1], '--json', ...args], { encoding: 'utf8' }));
  const kindArgs = kind ? ['--kind', kind] : [];
  const phone = { home, numbers: join(home, 'numbers'), ...run('init', ...kindArgs, '--relay', world.relayUrl) };
  writeFileSync(phone.numbers, '');
  phone.codes = () => run('codes', '--enroll').codes;
  /** `offline-code PAYLOAD --yes`: the transaction the phone shows and its 8-digit code (no network needed). */
  phone.offlineCode = (payload) => run('offline-code', payload, '--yes');
  /** Starts `watch --auto MODE --json` (plus `extra` flags); resolves once it is following the event stream. */
  phone.watch = async (mode, ...extra) => {
    const child = start(base[0], [...base[1], '--json', 'watch', '--auto', mode, ...extra, '--number-from', phone.numbers]);
    watchers.push(child);
    await lineOf(child, (l) => l?.type === 'ready');
    return child;
  };
  /** Types the number shown on the bank's page into the phone (number matching). */
  phone.type = (challengeId, number) => appendFileSync(phone.numbers, `${challengeId} ${number}\n`);
  return phone;
}

/** Stops a process and waits until it is gone (a phone still running could answer the next test's push). */
export function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(timer); ok(); });
    child.kill('SIGTERM');
  });
}

/** Stops every phone watcher and waits for them. */
export async function stopWatchers() {
  await Promise.all(watchers.splice(0).map(stop));
}

export function stopAll() {
  for (const child of children) stop(child);
}

export async function launchBrowser(world) {
  const profile = join(world.dir, 'chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
    locale: 'ja-JP',
  });
  return context;
}

export function cleanup(world) {
  stopAll();
  if (world && !process.env.ONEPUSH_KEEP_TEST_DATA) rmSync(world.dir, { recursive: true, force: true });
}

/** The TOTP time step now (30 s). */
export const stepNow = () => Math.floor(Date.now() / 30000);

/** The token's two enrollment codes and the step of the first, read within one step. */
export function codesAt(token) {
  for (;;) {
    const step = stepNow();
    const codes = token.codes();
    if (stepNow() === step) return [step, codes];
  }
}

/**
 * Registers `token` for `user` on the bank's registration page: the page's own sign-in,
 * then the credential ID and two consecutive codes. Resolves to the page's answer
 * (`outcome`: 'done' or 'error') and the step of the first code (the relay takes a
 * step's code once: a later code for this user must be of a later step).
 */
export async function register(page, world, user, token) {
  await page.goto(`${world.bankUrl}/register`);
  await page.fill('input[name=contract]', CONTRACT);
  await page.fill('input[name=user_id]', user);
  await page.fill('input[name=password]', LOGIN_PASSWORD);
  await page.click('#register-signin');
  await page.waitForSelector('#registering');
  const [step, codes] = codesAt(token);
  await page.fill('input[name=credential_id]', token.credential_id_grouped);
  await page.fill('input[name=code1]', codes[0]);
  await page.fill('input[name=code2]', codes[1]);
  await page.click('#enroll');
  const answer = await page.waitForSelector('#done, #error');
  return { outcome: await answer.getAttribute('id'), step };
}

/** Signs `user` in with a password on the login page; resolves once the next page loaded. */
export async function passwordLogin(page, world, user, password = LOGIN_PASSWORD) {
  await page.goto(`${world.bankUrl}/login`);
  await page.fill('input[name=user_id]', user);
  await page.fill('input[name=password]', password);
  await page.click('#login');
  await page.waitForLoadState('domcontentloaded');
}

/**
 * A code of `token` of a later step than any `user` used (`lastStep[user]`, kept by the
 * test; the relay takes each step's code once): the next step's code, within the
 * relay's ±1 step window.
 */
export async function freshCode(token, lastStep, user) {
  while (stepNow() < (lastStep[user] ?? 0)) await new Promise((r) => setTimeout(r, 500));
  const [step, codes] = codesAt(token);
  lastStep[user] = step + 1;
  return codes[1];
}
