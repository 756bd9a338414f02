// The OTP login of a code-token user (R10, R11) in headless chromium: a PC token
// (`onepush-device init --kind otp`) is registered like a phone; its user signs in with
// the password and then the 6-digit code the token shows, checked by the relay. The
// relay refuses to push to that user. A push user keeps the push login. Screenshots:
// target/demo-bank-screenshots/otp-*.png.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  SHOTS,
  cleanup, codesAt, freshCode, launchBrowser, newPhone, passwordLogin, register, startWorld, stop,
  stopWatchers,
} from './harness.mjs';

let world;
let context;
let page;
const tokens = {};
const lastStep = {};

before(async () => {
  world = await startWorld({ ttl: 20 });
  context = await launchBrowser(world);
  tokens.pc = newPhone(world, 'pc', { kind: 'otp' });
  tokens.phone = newPhone(world, 'phone');
});

after(async () => {
  await context?.close();
  cleanup(world);
});

afterEach(async () => {
  await stopWatchers();
});

beforeEach(async () => {
  await context.clearCookies();
  page?.close();
  page = await context.newPage();
});

const url = (path) => `${world.bankUrl}${path}`;
const shot = (name) => page.screenshot({ path: join(SHOTS, `otp-${name}.png`), fullPage: true });

async function registered(user, token) {
  const { step } = await register(page, world, user, token);
  lastStep[user] = step + 1;
}

test('the emulator sets up a code-only token and the bank registers it', async () => {
  assert.equal(tokens.pc.kind, 'otp');
  assert.equal(tokens.phone.kind, 'push');
  await registered('approver01', tokens.pc);
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
  assert.match(await page.textContent('#done'), /registered/);
  await context.clearCookies(); // a fresh registration session for the next user
  await registered('admin01', tokens.phone);
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
});

test('a code-token user is asked for the code after the password, and a wrong one is refused', async () => {
  await passwordLogin(page, world, 'approver01');
  assert.equal(page.url(), url('/login/otp'), 'no push: the bank asks for the code');
  assert.equal(await page.$('#number'), null);
  await shot('code-form');
  const [, near] = codesAt(tokens.pc);
  await page.fill('input[name=code]', ['000000', '111111', '222222'].find((c) => !near.includes(c)));
  await page.click('#verify-otp');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /wrong code \(4 tries left\)/);
  assert.equal(page.url(), url('/login/otp'));
  // Not signed in yet: the dashboard sends back to the login page.
  await page.goto(url('/dashboard'));
  assert.equal(page.url(), url('/login'));
  await shot('code-refused');
});

test('the right code from the token signs the user in', async () => {
  await passwordLogin(page, world, 'approver01');
  assert.equal(page.url(), url('/login/otp'));
  await page.fill('input[name=code]', await freshCode(tokens.pc, lastStep, 'approver01'));
  await page.click('#verify-otp');
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  assert.match(await page.textContent('#flash'), /signed in with a one-time code/);
  assert.match(await page.textContent('#token-state'), /code token/);
  assert.match(await page.textContent('#token-state'), new RegExp(tokens.pc.credential_id_grouped));
  await shot('signed-in');
});

test('the same code does not sign in twice', async () => {
  const code = await freshCode(tokens.pc, lastStep, 'approver01');
  await passwordLogin(page, world, 'approver01');
  await page.fill('input[name=code]', code);
  await page.click('#verify-otp');
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  await context.clearCookies();
  await passwordLogin(page, world, 'approver01');
  await page.fill('input[name=code]', code);
  await page.click('#verify-otp');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /code already used/);
});

test('a push user still approves the login on the phone', async () => {
  const watcher = await tokens.phone.watch('approve');
  try {
    await passwordLogin(page, world, 'admin01');
    const id = /\/approval\/([0-9a-f-]+)$/.exec(page.url())?.[1];
    assert.ok(id, `the bank asks the phone (at ${page.url()})`);
    tokens.phone.type(id, (await page.textContent('#number')).trim());
    await page.waitForURL(url('/dashboard'), { timeout: 20000 });
    assert.match(await page.textContent('#token-state'), /one-push/);
  } finally {
    await stop(watcher);
  }
});
