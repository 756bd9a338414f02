// The OTP login of a code-token user (R10, R11) in headless chromium: a PC token
// (`onepush-device init --kind otp`) is registered like a phone; its user signs in with
// the password and then the 6-digit code the token shows, checked by the relay. The
// relay refuses to push to that user. A push user keeps the push login. Screenshots:
// target/demo-bank-screenshots/otp-*.png.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  CONTRACT, LOGIN_PASSWORD, SHOTS,
  cleanup, launchBrowser, newPhone, startWorld, stop, stopWatchers,
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
const stepNow = () => Math.floor(Date.now() / 30000);

/** The token's current and next codes with the 30 s step they were read in. */
function codesAt(token) {
  for (;;) {
    const step = stepNow();
    const codes = token.codes();
    if (stepNow() === step) return [step, codes];
  }
}

/** A code of a later step than any `user` used (the relay takes each step once). */
async function freshCode(token, user) {
  while (stepNow() < lastStep[user]) await new Promise((r) => setTimeout(r, 500));
  const [step, codes] = codesAt(token);
  lastStep[user] = step + 1;
  return codes[1];
}

async function register(user, token) {
  await page.goto(url('/register'));
  await page.fill('input[name=contract]', CONTRACT);
  await page.fill('input[name=user_id]', user);
  await page.fill('input[name=password]', LOGIN_PASSWORD);
  await page.click('#register-signin');
  await page.waitForSelector('#registering');
  const [step, codes] = codesAt(token);
  lastStep[user] = step + 1;
  await page.fill('input[name=credential_id]', token.credential_id_grouped);
  await page.fill('input[name=code1]', codes[0]);
  await page.fill('input[name=code2]', codes[1]);
  await page.click('#enroll');
  await page.waitForSelector('#done, #error');
}

async function passwordLogin(user) {
  await page.goto(url('/login'));
  await page.fill('input[name=user_id]', user);
  await page.fill('input[name=password]', LOGIN_PASSWORD);
  await page.click('#login');
  await page.waitForLoadState('domcontentloaded');
}

test('the emulator sets up a code-only token and the bank registers it', async () => {
  assert.equal(tokens.pc.kind, 'otp');
  assert.equal(tokens.phone.kind, 'push');
  await register('approver01', tokens.pc);
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
  assert.match(await page.textContent('#done'), /registered/);
  await context.clearCookies(); // a fresh registration session for the next user
  await register('admin01', tokens.phone);
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
});

test('a code-token user is asked for the code after the password, and a wrong one is refused', async () => {
  await passwordLogin('approver01');
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
  await passwordLogin('approver01');
  assert.equal(page.url(), url('/login/otp'));
  await page.fill('input[name=code]', await freshCode(tokens.pc, 'approver01'));
  await page.click('#verify-otp');
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  assert.match(await page.textContent('#flash'), /signed in with a one-time code/);
  assert.match(await page.textContent('#token-state'), /code token/);
  assert.match(await page.textContent('#token-state'), new RegExp(tokens.pc.credential_id_grouped));
  await shot('signed-in');
});

test('the same code does not sign in twice', async () => {
  const code = await freshCode(tokens.pc, 'approver01');
  await passwordLogin('approver01');
  await page.fill('input[name=code]', code);
  await page.click('#verify-otp');
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  await context.clearCookies();
  await passwordLogin('approver01');
  await page.fill('input[name=code]', code);
  await page.click('#verify-otp');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /code already used/);
});

test('a push user still approves the login on the phone', async () => {
  const watcher = await tokens.phone.watch('approve');
  try {
    await passwordLogin('admin01');
    const id = /\/approval\/([0-9a-f-]+)$/.exec(page.url())?.[1];
    assert.ok(id, `the bank asks the phone (at ${page.url()})`);
    tokens.phone.type(id, (await page.textContent('#number')).trim());
    await page.waitForURL(url('/dashboard'), { timeout: 20000 });
    assert.match(await page.textContent('#token-state'), /one-push/);
  } finally {
    await stop(watcher);
  }
});
