// Maintenance at run time (R18) in the demo bank: the relay's operator suspends
// one-push with the CLI; the bank shows the announcement on its login and payment
// pages, lets users sign in with passwords only meanwhile, refuses transactions with
// the announcement, and asks the phone again once it is over.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  APPROVAL_PASSWORD, SHOTS,
  cleanup, launchBrowser, newPhone, passwordLogin, register, relayCli, startWorld,
} from './harness.mjs';

const MESSAGE = '12月7日 6:00まで、システム障害のためワンプッシュ認証を停止しています。';

let world;
let context;
let page;

before(async () => {
  world = await startWorld({ ttl: 10 });
  context = await launchBrowser(world);
  page = await context.newPage();
  // approver01 registers a phone: its sign-in normally asks that phone.
  const phone = newPhone(world, 'approver');
  assert.equal((await register(page, world, 'approver01', phone)).outcome, 'done');
});

after(async () => {
  await context?.close();
  cleanup(world);
});

beforeEach(async () => {
  await context.clearCookies();
  await page?.close();
  page = await context.newPage();
});

const url = (path) => `${world.bankUrl}${path}`;
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Reloads `path` until the announcement is shown (`present`) or gone; bounded. */
async function untilAnnouncement(path, present) {
  for (let i = 0; i < 100; i++) {
    await page.goto(url(path));
    if (((await page.$('#maintenance')) !== null) === present) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the announcement never ${present ? 'appeared' : 'went away'} on ${path}`);
}

const signIn = (user) => passwordLogin(page, world, user);

test('the login page shows the announcement and sign-in is password-only', async () => {
  const out = relayCli(world, 'maintenance', 'on', '--tenant', 'demo-bank', '--message', MESSAGE);
  assert.match(out, /maintenance on for tenant demo-bank/);
  await untilAnnouncement('/login', true);
  const shown = await page.textContent('#maintenance');
  assert.match(shown, /一時停止中/);
  assert.ok(shown.includes(MESSAGE), shown);
  await shot('40-maintenance-login-announcement');

  // No phone is watching: were the bank to ask it, this would wait on the approval page.
  await signIn('approver01');
  assert.equal(page.url(), url('/dashboard'));
  const flash = await page.textContent('#flash');
  assert.match(flash, /パスワードのみでログインしました/);
  assert.ok(flash.includes(MESSAGE), flash);
  await shot('41-maintenance-password-only-dashboard');
});

test('payment pages show the announcement and refuse the transaction until it ends', async () => {
  await page.goto(url('/login'));
  await signIn('approver01');
  assert.equal(page.url(), url('/dashboard'));
  await page.goto(url('/transfer'));
  assert.ok((await page.textContent('#maintenance')).includes(MESSAGE));
  await page.fill('input[name=payee_name]', 'カ）ヤマダショウジ');
  await page.fill('input[name=payee_account]', 'さくら銀行 本店 普通 7654321');
  await page.fill('input[name=amount]', '10000');
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await page.click('#submit-transfer');
  await page.waitForSelector('#error');
  const error = await page.textContent('#error');
  assert.match(error, /メンテナンス終了後に再度お試しください/);
  assert.ok(error.includes(MESSAGE), error);
  await shot('42-maintenance-transfer-refused');
  await page.goto(url('/payments'));
  assert.ok((await page.textContent('#maintenance')).includes(MESSAGE));
});

test('once maintenance is off the bank asks the phone again', async () => {
  relayCli(world, 'maintenance', 'off', '--tenant', 'demo-bank');
  await untilAnnouncement('/login', false);
  await signIn('approver01');
  assert.match(page.url(), /\/approval\/[0-9a-f-]+$/, 'the waiting page: the phone is asked');
  await shot('43-maintenance-over-push-again');
});
