// The demo bank end to end in headless chromium: relay, bank and emulated phones
// (`onepush-device watch --auto ...`) are real processes. Screenshots go to
// target/demo-bank-screenshots/.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  APPROVAL_PASSWORD, SHOTS, STAFF_PASSWORD,
  cleanup, launchBrowser, lineOf, newPhone, passwordLogin, register, startWorld, stop,
  stopWatchers as stopAll,
} from './harness.mjs';

let world;
let context;
let page;
const phones = {};
let lastRefusal = '';

before(async () => {
  world = await startWorld({ ttl: 10 });
  context = await launchBrowser(world);
  phones.approver = newPhone(world, 'approver');
});

after(async () => {
  await context?.close();
  cleanup(world);
});

// A phone left running by a failed test would answer the next test's push.
afterEach(async () => {
  await stopAll();
});

beforeEach(async () => {
  await context.clearCookies();
  page?.close();
  page = await context.newPage();
});

const url = (path) => `${world.bankUrl}${path}`;
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Registers `phone` for `user`, reaching the registration page from the login page's link. */
async function registerPhone(user, phone) {
  await page.goto(url('/login'));
  await page.click('a[href="/register"] >> nth=0');
  assert.equal(page.url(), url('/register'));
  await register(page, world, user, phone);
  return page;
}

/** Signs in with the password; returns the challenge ID when the bank asks the phone. */
async function signIn(user) {
  await passwordLogin(page, world, user);
  // A quick phone may have answered already: the page is then on the outcome.
  const match = /\/approval\/([0-9a-f-]+)(\/result)?$/.exec(page.url());
  if (!match) lastRefusal = (await page.$('#error')) ? await page.textContent('#error') : page.url();
  return match?.[1];
}

/** Signs in and approves on `phone` (typing the number shown on the page). */
async function signInApproved(user, phone) {
  const watcher = await phone.watch('approve');
  try {
    const id = await signIn(user);
    assert.ok(id, `the bank asks the phone (at ${page.url()})`);
    phone.type(id, (await page.textContent('#number')).trim());
    await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  } finally {
    await stop(watcher);
  }
}

test('registration with the credential ID and two consecutive codes', async () => {
  await registerPhone('approver01', phones.approver);
  assert.match(await page.textContent('#done'), /one-push is registered/);
  await shot('01-registration-done');
});

test('login approved on the phone, with number matching and the signature verified', async () => {
  const phone = phones.approver;
  const watcher = await phone.watch('approve');
  const id = await signIn('approver01');
  assert.ok(id, 'waiting page');
  const number = (await page.textContent('#number')).trim();
  assert.match(number, /^\d{2}$/);
  assert.match(await page.textContent('#seconds'), /^\d+$/);
  await shot('02-login-waiting-number');
  phone.type(id, number);
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  assert.match(await page.textContent('#flash'), /署名を検証しました \/ signature verified/);
  assert.match(await page.textContent('#flash'), new RegExp(phone.credential_id_grouped));
  const answered = await lineOf(watcher, (l) => l?.type === 'challenge' && l.id === id && l.answer === 'approve');
  assert.equal(answered.status, 'approved');
  assert.equal(answered.kind, 'login');
  await shot('03-login-approved-dashboard');
  await stop(watcher);
});

test('transfer approved: the phone saw the exact amount and payee', async () => {
  const phone = phones.approver;
  await signInApproved('approver01', phone);
  const watcher = await phone.watch('approve');
  await page.goto(url('/transfer'));
  await page.fill('input[name=payee_name]', 'カ）ヤマダショウジ');
  await page.fill('input[name=payee_account]', 'さくら銀行 本店 普通 7654321');
  await page.fill('input[name=amount]', '1,234,567');
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await page.click('#submit-transfer');
  // Transfers use number matching too: type the number the page shows.
  await page.waitForURL(/\/approval\/[0-9a-f-]+$/, { timeout: 20000 });
  phone.type(/\/approval\/([0-9a-f-]+)$/.exec(page.url())[1], (await page.textContent('#number')).trim());
  await page.waitForURL(url('/transfers'), { timeout: 20000 });
  const seen = await lineOf(watcher, (l) => l?.type === 'challenge' && l.kind === 'transaction' && l.answer === 'approve');
  assert.deepEqual(
    { amount: seen.context.amount, currency: seen.context.currency, payee: seen.context.payee_name, account: seen.context.payee_account },
    { amount: '1234567', currency: 'JPY', payee: 'カ）ヤマダショウジ', account: 'さくら銀行 本店 普通 7654321' },
  );
  assert.equal(seen.status, 'approved');
  const row = await page.textContent('#transfers');
  assert.match(row, /¥1,234,567/);
  assert.match(row, /カ）ヤマダショウジ/);
  await shot('04-transfer-approved-list');
  await stop(watcher);
});

test('a wrong approval password is refused before any push', async () => {
  const phone = phones.approver;
  await signInApproved('approver01', phone);
  const watcher = await phone.watch('approve');
  await page.goto(url('/transfer'));
  await page.fill('input[name=payee_name]', 'カ）スズキ');
  await page.fill('input[name=payee_account]', 'みどり銀行 駅前支店 当座 1111111');
  await page.fill('input[name=amount]', '5000');
  await page.fill('input[name=approval_password]', 'not-my-password');
  await page.click('#submit-transfer');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /wrong password: 4 tries left/);
  assert.equal(await page.inputValue('input[name=payee_name]'), 'カ）スズキ');
  await shot('05-wrong-approval-password');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!watcher.lines.some((l) => l?.type === 'challenge'), 'no push was sent');
  await stop(watcher);
});

test('login denied on the phone is stopped with its own message', async () => {
  const watcher = await phones.approver.watch('deny');
  const id = await signIn('approver01');
  assert.ok(id, lastRefusal);
  await page.waitForURL(url(`/approval/${id}/result`), { timeout: 20000 });
  assert.equal(await page.getAttribute('#outcome', 'data-status'), 'denied');
  assert.match(await page.textContent('#outcome'), /拒否されました \/ Denied/);
  await shot('06-login-denied');
  await stop(watcher);
});

test('login not answered in time is stopped as timed out', async () => {
  const watcher = await phones.approver.watch('ignore');
  const id = await signIn('approver01');
  assert.ok(id, lastRefusal);
  await lineOf(watcher, (l) => l?.type === 'challenge' && l.id === id);
  await page.waitForURL(url(`/approval/${id}/result`), { timeout: 30000 });
  assert.equal(await page.getAttribute('#outcome', 'data-status'), 'expired');
  assert.match(await page.textContent('#outcome'), /時間切れです \/ Timed out/);
  await shot('07-login-timed-out');
  await stop(watcher);
});

test('admin unregisters another user\'s token with a push; every user is mailed', async () => {
  phones.admin = newPhone(world, 'admin');
  phones.entry = newPhone(world, 'entry');
  await registerPhone('admin01', phones.admin);
  assert.ok(await page.$('#done'), 'admin01 registered');
  await context.clearCookies();
  await registerPhone('entry01', phones.entry);
  assert.ok(await page.$('#done'), 'entry01 registered');
  await context.clearCookies();

  await signInApproved('admin01', phones.admin);
  const watcher = await phones.admin.watch('approve');
  await page.goto(url('/admin'));
  await page.check('input[value=unregister_token]');
  await page.fill('input[name=target_user_id]', 'entry01');
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await shot('08-admin-form');
  await page.click('#execute');
  await page.waitForURL(url('/admin'), { timeout: 20000 });
  assert.match(await page.textContent('#flash'), /登録解除を実行しました/);
  const seen = await lineOf(watcher, (l) => l?.type === 'challenge' && l.kind === 'admin');
  assert.equal(seen.context.operation, 'unregister_token');
  assert.equal(seen.context.target_user_id, 'entry01');
  await stop(watcher);

  await page.goto(url('/outbox'));
  const mails = await page.$$eval('article.mail', (els) => els.map((e) => e.textContent));
  assert.equal(mails.length, 4, 'one mail per user with an address');
  for (const mail of mails) assert.match(mail, /対象ID: entry01/);
  await shot('09-outbox');
});

test('R17: an approver without an active token is refused after the grace date; inquiry users are not', async () => {
  await page.goto(url('/staff'));
  await page.fill('input[name=password]', STAFF_PASSWORD);
  await page.click('#staff-login');
  const row = page.locator('tr[data-user=approver01]');
  await row.locator('select[name=action]').selectOption('unregister');
  const yesterday = new Date(Date.now() - 2 * 86400000).toISOString().slice(0, 10);
  await row.locator('input[name=grace_date]').fill(yesterday);
  await row.locator('button').click();
  await page.waitForSelector('#flash');
  assert.match(await page.textContent('#flash'), /unregistered/);
  await shot('10-staff-unregistered');

  await context.clearCookies();
  assert.equal(await signIn('approver01'), undefined);
  assert.match(await page.textContent('#error'), /password-only period has ended/);
  await shot('11-r17-refused');

  await context.clearCookies();
  await signIn('viewer01');
  assert.equal(page.url(), url('/dashboard'));
});
