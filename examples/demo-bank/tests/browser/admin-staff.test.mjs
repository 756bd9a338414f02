// The success paths of the admin and staff pages in headless chromium (R5,
// R13–R16): an admin unlocks a locked user with a push, resets a password and
// unregisters a token authenticated by OTPs from the emulated phone, resyncs
// its token (R12), and bank staff suspend, resume and unlock a token, take a
// loss report and end the contract (R14). Screenshots:
// target/demo-bank-screenshots/admin-*.png.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  APPROVAL_PASSWORD, LOGIN_PASSWORD, SHOTS, STAFF_PASSWORD,
  cleanup, codesAt, freshCode, launchBrowser, lineOf, newPhone, passwordLogin, register, startWorld, stepNow,
  stop, stopWatchers,
} from './harness.mjs';

let world;
let context;
let page;
const phones = {};
const lastStep = {};

before(async () => {
  world = await startWorld({ ttl: 20 });
  context = await launchBrowser(world);
  phones.admin = newPhone(world, 'admin');
  phones.approver = newPhone(world, 'approver');
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
const shot = (name) => page.screenshot({ path: join(SHOTS, `admin-${name}.png`), fullPage: true });
const later = (days) => new Date(Date.now() + days * 86400000 + 9 * 3600000).toISOString().slice(0, 10);

async function registered(user, phone) {
  const { outcome, step } = await register(page, world, user, phone);
  assert.equal(outcome, 'done', `${user} registered`);
  lastStep[user] = step + 1;
}

/** Signs the admin in, approving on its phone with the number the page shows. */
async function adminSignedIn() {
  const watcher = await phones.admin.watch('approve');
  await passwordLogin(page, world, 'admin01', LOGIN_PASSWORD);
  const id = /\/approval\/([0-9a-f-]+)$/.exec(page.url())?.[1];
  assert.ok(id, `the bank asks the admin's phone (at ${page.url()})`);
  phones.admin.type(id, (await page.textContent('#number')).trim());
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  await stop(watcher);
}

const freshOtp = (phone, user) => freshCode(phone, lastStep, user);

/** The row of the admin page's user table for `user`: [login badge, approval badge]. */
async function badges(user) {
  return page.$$eval('#users tr', (rows, u) => {
    const row = rows.find((r) => r.querySelector('td')?.textContent === u);
    return [...row.querySelectorAll('.badge')].map((b) => b.textContent);
  }, user);
}

test('admin01 and approver01 register their phones', async () => {
  await registered('admin01', phones.admin);
  await context.clearCookies();
  await registered('approver01', phones.approver);
});

test('an admin unlocks a user locked by wrong passwords, approving with a push', async () => {
  for (let i = 0; i < 5; i += 1) await passwordLogin(page, world, 'entry01', 'wrong-password-1');
  await passwordLogin(page, world, 'entry01', LOGIN_PASSWORD);
  assert.match(await page.textContent('#error'), /locked: ask your admin to unlock it/);

  await context.clearCookies();
  await adminSignedIn();
  await page.goto(url('/admin'));
  assert.deepEqual(await badges('entry01'), ['ロック locked', '正常 ok']);
  const watcher = await phones.admin.watch('approve');
  await page.check('input[value=unlock_passwords]');
  await page.fill('input[name=target_user_id]', 'entry01');
  await page.click('#execute');
  await page.waitForURL(url('/admin'), { timeout: 20000 });
  assert.match(await page.textContent('#flash'), /ロック解除を実行しました \/ done\. 署名を検証しました/);
  const seen = await lineOf(watcher, (l) => l?.type === 'challenge' && l.kind === 'admin' && l.answer === 'approve');
  assert.deepEqual([seen.context.operation, seen.context.target_user_id, seen.status], ['unlock_passwords', 'entry01', 'approved']);
  assert.deepEqual(await badges('entry01'), ['正常 ok', '正常 ok']);
  await shot('unlocked');

  await context.clearCookies();
  await passwordLogin(page, world, 'entry01', LOGIN_PASSWORD);
  assert.equal(page.url(), url('/dashboard'), 'entry01 (no token needed) signs in again');
});

test('an admin resets a password, authenticated by an OTP from the phone', async () => {
  await adminSignedIn();
  const otp = await freshOtp(phones.admin, 'admin01');
  await page.goto(url('/admin'));
  await page.check('input[value=reset_passwords]');
  await page.fill('input[name=target_user_id]', 'entry01');
  await page.fill('input[name=new_login_password]', 'Fresh2468pw');
  await page.fill('input[name=new_login_password2]', 'Fresh2468pw');
  await page.check('input[name=method][value=otp]');
  await page.fill('input[name=otp]', otp);
  await page.click('#execute');
  await page.waitForSelector('#done, #error');
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
  assert.match(await page.textContent('#done'), /初期化（再設定）を実行しました（OTPで認証）/);
  await shot('reset-by-otp');

  await context.clearCookies();
  await passwordLogin(page, world, 'entry01', LOGIN_PASSWORD);
  assert.match(await page.textContent('#error'), /wrong password/, 'the old password no longer works');
  await passwordLogin(page, world, 'entry01', 'Fresh2468pw');
  assert.equal(page.url(), url('/dashboard'));
  await page.goto(url('/outbox'));
  assert.match(await page.textContent('body'), /パスワードの初期化/);
});

test('bank staff suspend, resume, unlock after a lock, and take a loss report', async () => {
  await page.goto(url('/staff'));
  await page.fill('input[name=password]', STAFF_PASSWORD);
  await page.click('#staff-login');
  const act = async (action, date = '') => {
    const row = page.locator('tr[data-user=approver01]');
    await row.locator('select[name=action]').selectOption(action);
    await row.locator('input[name=grace_date]').fill(date);
    await row.locator('button').click();
    await page.waitForSelector('#flash, #error');
    assert.equal(await page.$('#error'), null, await page.textContent('body'));
    return [await page.textContent('#flash'), await page.textContent('tr[data-user=approver01] .state')];
  };
  const [suspended, s1] = await act('suspend', later(7));
  assert.match(suspended, /approver01: 一時停止しました \/ suspended/);
  assert.match(s1, /suspended/);
  await shot('staff-suspended');
  const [resumed, s2] = await act('resume');
  assert.match(resumed, /resumed/);
  assert.match(s2, /active/);

  // A "this wasn't me" on the phone locks the binding; staff unlock it.
  const staff = page;
  page = await context.newPage();
  await context.clearCookies();
  const watcher = await phones.approver.watch('deny', '--not-me');
  await passwordLogin(page, world, 'approver01', LOGIN_PASSWORD);
  await page.waitForURL(/\/result$/, { timeout: 20000 });
  await stop(watcher);
  await page.close();
  page = staff;
  await page.goto(url('/staff'));
  await page.fill('input[name=password]', STAFF_PASSWORD);
  await page.click('#staff-login');
  assert.match(await page.textContent('tr[data-user=approver01] .state'), /locked/);
  const [unlocked, s3] = await act('unlock');
  assert.match(unlocked, /unlocked/);
  assert.match(s3, /active/);

  const [lost, s4] = await act('report_lost');
  assert.match(lost, /reported lost: 1 bindings locked/);
  assert.match(s4, /locked/);
  await shot('staff-reported-lost');
});

test('the resync page takes two consecutive codes and says the clock is on time', async () => {
  await adminSignedIn();
  // Both codes must be of steps after the last one the credential used.
  while (stepNow() <= lastStep.admin01) await new Promise((r) => setTimeout(r, 500));
  const [step, codes] = codesAt(phones.admin);
  lastStep.admin01 = step + 1;
  await page.goto(url('/resync'));
  await page.fill('input[name=code1]', codes[0]);
  // As a person does: type the second code once the app shows it.
  while (stepNow() <= step) await new Promise((r) => setTimeout(r, 500));
  await page.fill('input[name=code2]', codes[1]);
  await page.click('#resync');
  await page.waitForSelector('#done, #error');
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
  assert.match(await page.textContent('#done'), /on time/);
  await shot('resync');
});

test('an admin unregisters a token authenticated by an OTP; the staff page shows it', async () => {
  await adminSignedIn();
  const otp = await freshOtp(phones.admin, 'admin01');
  await page.goto(url('/admin'));
  await page.check('input[value=unregister_token]');
  await page.fill('input[name=target_user_id]', 'approver01');
  await page.check('input[name=method][value=otp]');
  await page.fill('input[name=otp]', otp);
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await page.click('#execute');
  await page.waitForSelector('#done, #error');
  assert.equal(await page.$('#error'), null, await page.textContent('body'));
  assert.match(await page.textContent('#done'), /登録解除を実行しました（OTPで認証）/);
  await shot('unregistered-by-otp');
  await context.clearCookies();
  await page.goto(url('/staff'));
  await page.fill('input[name=password]', STAFF_PASSWORD);
  await page.click('#staff-login');
  assert.match(await page.textContent('tr[data-user=approver01] .state'), /unregistered/);
});

test('ending the contract unregisters every remaining token (R14)', async () => {
  await page.goto(url('/staff'));
  await page.fill('input[name=password]', STAFF_PASSWORD);
  await page.click('#staff-login');
  assert.match(await page.textContent('tr[data-user=admin01] .state'), /active/);
  await page.click('#contract-end');
  await page.waitForSelector('#flash');
  assert.match(await page.textContent('#flash'), /contract ended: 1 token\(s\) unregistered \(admin01\)/);
  const states = await page.$$eval('#tokens tr[data-user] .state', (els) => els.map((e) => e.textContent));
  assert.ok(states.every((s) => /unregistered|not registered/.test(s)), states.join(' | '));
  await shot('contract-ended');
});
