// Each payment screen end to end in headless chromium (R2): the form with the
// approval password, the waiting page with the number to match, the emulated
// phone (`onepush-device watch --auto approve`) typing it, and the result page.
// The phone's report shows it saw exactly the context of the transaction type.
// Screenshots: target/demo-bank-screenshots/kinds-*.png.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  APPROVAL_PASSWORD, SHOTS,
  cleanup, launchBrowser, lineOf, newPhone, passwordLogin, register, startWorld, stop, stopWatchers,
} from './harness.mjs';

let world;
let context;
let page;
let phone;

before(async () => {
  world = await startWorld({ ttl: 20 });
  context = await launchBrowser(world);
  phone = newPhone(world, 'kinds');
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
const shot = (name) => page.screenshot({ path: join(SHOTS, `kinds-${name}.png`), fullPage: true });
const isoDay = (daysAhead) => new Date(Date.now() + daysAhead * 86400000 + 9 * 3600000).toISOString().slice(0, 10);

/** Waits on the waiting page, types its number into the phone, returns the challenge ID. */
async function matchNumber() {
  await page.waitForURL(/\/approval\/[0-9a-f-]+$/, { timeout: 20000 });
  const id = /\/approval\/([0-9a-f-]+)$/.exec(page.url())[1];
  const number = (await page.textContent('#number')).trim();
  assert.match(number, /^\d{2}$/);
  return { id, number };
}

test('register the phone and sign in with number matching', async () => {
  assert.equal((await register(page, world, 'approver01', phone)).outcome, 'done');

  const watcher = await phone.watch('approve');
  await passwordLogin(page, world, 'approver01');
  const { id, number } = await matchNumber();
  phone.type(id, number);
  await page.waitForURL(url('/dashboard'), { timeout: 20000 });
  await stop(watcher);
});

test('a transfer asks for number matching too', async () => {
  const watcher = await phone.watch('approve');
  await page.goto(url('/transfer'));
  await page.fill('input[name=payee_name]', 'カ）サトウ');
  await page.fill('input[name=payee_account]', 'さくら銀行 本店 普通 1231231');
  await page.fill('input[name=amount]', '98765');
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await page.click('#submit-transfer');
  const { id, number } = await matchNumber();
  await shot('transfer-waiting-number');
  phone.type(id, number);
  await page.waitForURL(url('/transfers'), { timeout: 20000 });
  const seen = await lineOf(watcher, (l) => l?.type === 'challenge' && l.id === id && l.answer === 'approve');
  assert.equal(seen.context.type, 'transfer');
  assert.equal(seen.number, Number(number));
  assert.equal(seen.status, 'approved');
  assert.match(await page.textContent('#transfers'), /¥98,765/);
});

/** Each screen: what to type, what the phone must have seen, what the result shows. */
const SCREENS = [
  {
    kind: 'bulk_transfer',
    fill: { lines: 'カ）ヤマダ,さくら銀行 本店 普通 1111111,120000\nスズキ イチロウ,みどり銀行 駅前支店 普通 2222222,80,000\nカ）タナカ,あおば銀行 本店 当座 3333333,5' },
    seen: { count: 3, total: '200005', currency: 'JPY' },
    result: /総合振込 \/ bulk transfer: 3件 合計 ¥200,005 \(SOGO-\d{8}-[0-9A-F]{4}\)/,
  },
  {
    kind: 'payroll_transfer',
    fill: { payment_date: isoDay(10), lines: 'ヤマダ タロウ,さくら銀行 本店 普通 4444444,310000\nスズキ ハナコ,みどり銀行 駅前支店 普通 5555555,285000' },
    seen: { count: 2, total: '595000', currency: 'JPY', payment_date: isoDay(10) },
    result: new RegExp(`給与・賞与振込 / payroll: 2件 合計 ¥595,000 支払日 ${isoDay(10)}`),
  },
  {
    kind: 'tax_payment',
    fill: { payee_institution_number: '00100', customer_number: '12345678901234567890', confirmation_number: '123456', amount: '350,000' },
    seen: { payee_institution_number: '00100', customer_number: '12345678901234567890', confirmation_number: '123456', amount: '350000', currency: 'JPY' },
    result: /ペイジー \/ Pay-easy: 収納機関 00100 お客様番号 12345678901234567890 確認番号 123456 ¥350,000/,
  },
  {
    kind: 'direct_debit',
    fill: { creditor: '東京電力エナジーパートナー', amount: '15800', debit_date: isoDay(20) },
    seen: { creditor: '東京電力エナジーパートナー', amount: '15800', currency: 'JPY', debit_date: isoDay(20) },
    result: /口座振替 \/ direct debit: 東京電力エナジーパートナー ¥15,800/,
  },
  {
    kind: 'settings_change',
    fill: { new_email: 'keiri-new@example.co.jp' },
    seen: { setting: '通知先メールアドレス / notification e-mail', new_value: 'keiri-new@example.co.jp' },
    result: /設定変更 \/ settings change: 通知先メールアドレス \/ notification e-mail: .* → keiri-new@example.co.jp/,
  },
];

for (const s of SCREENS) {
  test(`${s.kind}: approval password, push with number matching, approved result`, async () => {
    const watcher = await phone.watch('approve');
    await page.goto(url('/payments'));
    await page.click(`#menu-${s.kind}`);
    await page.waitForSelector(`#payment-form[data-kind=${s.kind}]`);
    for (const [name, value] of Object.entries(s.fill)) await page.fill(`[name=${name}]`, value);
    await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
    await shot(`${s.kind}-form`);
    await page.click('#submit-payment');
    const { id, number } = await matchNumber();
    assert.match(await page.textContent('#what'), s.result);
    await shot(`${s.kind}-waiting`);
    phone.type(id, number);
    await page.waitForURL(url(`/approval/${id}/result`), { timeout: 20000 });
    assert.equal(await page.getAttribute('#outcome', 'data-status'), 'approved');
    assert.match(await page.textContent('#what'), s.result);
    assert.match(await page.textContent('#detail'), /署名を検証しました \/ signature verified/);
    await shot(`${s.kind}-result`);
    const seen = await lineOf(watcher, (l) => l?.type === 'challenge' && l.id === id && l.answer === 'approve');
    assert.equal(seen.kind, 'transaction');
    assert.equal(seen.context.type, s.kind);
    for (const [k, v] of Object.entries(s.seen)) assert.deepEqual(seen.context[k], v, k);
    assert.equal(seen.number, Number(number));
    assert.equal(seen.status, 'approved');
    await page.click('#next');
    await page.waitForURL(url('/payments'));
    assert.match(await page.textContent('#payments'), s.result);
  });
}

test('a bad form is refused on its screen before any push, keeping what was typed', async () => {
  const watcher = await phone.watch('approve');
  await page.goto(url('/payments/tax_payment'));
  await page.fill('[name=payee_institution_number]', '0010');
  await page.fill('[name=customer_number]', '1234');
  await page.fill('[name=confirmation_number]', '99');
  await page.fill('[name=amount]', '5000');
  await page.fill('input[name=approval_password]', APPROVAL_PASSWORD);
  await page.click('#submit-payment');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /must be 5 digits/);
  assert.equal(await page.inputValue('[name=customer_number]'), '1234');
  await shot('tax_payment-refused');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!watcher.lines.some((l) => l?.type === 'challenge'), 'no push was sent');
});

test('the menu lists every approved request', async () => {
  await page.goto(url('/payments'));
  const rows = await page.$$eval('#payments td.summary', (els) => els.map((e) => e.textContent));
  assert.equal(rows.length, SCREENS.length);
  await shot('menu');
});
