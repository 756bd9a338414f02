// "Phone offline?" on the demo bank's waiting page (RFC 6287 OCRA offline codes): the
// page shows the QR payload as a QR code and as text, the emulated phone (`onepush-device offline-code
// PAYLOAD`) shows the transfer and prints the 8-digit code, the page takes it and the
// relay verifies it. A wrong code is refused with the tries left; the right one
// executes the transfer. Relay, bank and phone are real processes.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import {
  APPROVAL_PASSWORD, SHOTS,
  cleanup, launchBrowser, newPhone, passwordLogin, register, startWorld, stop, stopWatchers,
} from './harness.mjs';

let world;
let context;
let page;
let phone;

before(async () => {
  world = await startWorld({ ttl: 60 });
  context = await launchBrowser(world);
  phone = newPhone(world, 'offline');
});

after(async () => {
  await context?.close();
  cleanup(world);
});

afterEach(async () => {
  await stopWatchers();
});

beforeEach(async () => {
  page?.close();
  page = await context.newPage();
});

const url = (path) => `${world.bankUrl}${path}`;
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test('registration, then a sign-in approved on the phone', async () => {
  assert.equal((await register(page, world, 'approver01', phone)).outcome, 'done');

  const watcher = await phone.watch('approve');
  await passwordLogin(page, world, 'approver01');
  await page.waitForURL(/\/approval\/[0-9a-f-]+$/, { timeout: 20000 });
  phone.type(/\/approval\/([0-9a-f-]+)$/.exec(page.url())[1], (await page.textContent('#number')).trim());
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  await stop(watcher);
});

test('phone offline: the QR payload, the code from the phone, the transfer executed', async () => {
  // The phone has no network now: nothing follows the event stream.
  await page.goto(url('/transfer'));
  await page.fill('input[name=payee_name]', 'カ）オフラインショウジ');
  await page.fill('input[name=payee_account]', 'さくら銀行 本店 普通 7654321');
  await page.fill('input[name=amount]', '42,000');
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await page.click('#submit-transfer');
  await page.waitForURL(/\/approval\/[0-9a-f-]+$/, { timeout: 20000 });
  const pushId = /\/approval\/([0-9a-f-]+)$/.exec(page.url())[1];
  await page.click('#offline');
  await page.waitForSelector('#offline-payload');
  const payload = (await page.inputValue('#offline-payload')).trim();
  assert.match(payload, /^[A-Za-z0-9_-]+$/, 'base64url');
  assert.ok(payload.length < 1000, `compact payload: ${payload.length}`);
  assert.match(await page.textContent('#what'), /¥42,000/);
  await shot('20-offline-payload');
  // What a phone's camera reads off the screen is that payload, exactly.
  const png = PNG.sync.read(await page.locator('#offline-qr').screenshot());
  const scanned = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.equal(scanned?.data, payload, 'the QR code on the page carries the payload');

  // The phone shows exactly this transfer and gives its code.
  const answer = phone.offlineCode(payload);
  assert.deepEqual(
    { amount: answer.challenge.context.amount, payee: answer.challenge.context.payee_name, kind: answer.challenge.kind },
    { amount: '42000', payee: 'カ）オフラインショウジ', kind: 'transaction' },
  );
  assert.match(answer.code, /^\d{8}$/);

  // A wrong code: refused, counted, the page stays.
  const wrong = answer.code === '00000000' ? '00000001' : '00000000';
  await page.fill('#offline-code', wrong);
  await page.click('#offline-submit');
  await page.waitForSelector('#offline-error');
  assert.match(await page.textContent('#offline-error'), /wrong code: 4 tries left/);
  await shot('21-offline-wrong-code');

  await page.fill('#offline-code', answer.code);
  await page.click('#offline-submit');
  await page.waitForURL(url('/transfers'), { timeout: 20000 });
  const row = await page.textContent('#transfers');
  assert.match(row, /¥42,000/);
  assert.match(row, /カ）オフラインショウジ/);
  assert.match(await page.textContent('#flash'), /offline code/);
  await shot('22-offline-transfer-executed');

  // The push it replaced was cancelled: its page shows the outcome, not a second approval.
  await page.goto(url(`/approval/${pushId}/result`));
  assert.equal(await page.getAttribute('#outcome', 'data-status'), 'cancelled');
});
