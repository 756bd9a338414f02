// kinds.test.js — every transaction type on the prompt, in Japanese and
// English: its title, the type row, each required field under its own label
// (money exact with thousands separators, JPY without decimals; counts; dates
// with their weekday), extra fields under "other", number matching on any
// type, an unknown type left raw. Screenshots: prompt-<type>-<lang>.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, emit, shot, responses, T0 } from './harness.js';
import { CONTEXT_STRINGS } from '../js/context-strings.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
let serial = 0x100;
function challenge(context, extra = {}) {
  serial += 1;
  return {
    id: `0195f0a2-0000-7000-8000-${serial.toString(16).padStart(12, '0')}`,
    tenant_id: 'jweb',
    tenant_name: 'みらい銀行',
    user_id: 'keiri01',
    kind: 'transaction',
    number_matching: false,
    nonce: 'bm9uY2U',
    status: 'pending',
    created_at: iso(T0 - 5000),
    expires_at: iso(T0 + 55000),
    context,
    ...extra,
  };
}

/** Each type: its context, the title and the rows (label → text) per language. */
const KINDS = {
  transfer: {
    context: { type: 'transfer', amount: '1234567', currency: 'JPY', payee_name: 'カ)ヤマダショウジ', payee_account: 'さくら銀行 本店 普通 7654321', memo: '4月分 仕入代金' },
    ja: { title: '振込の承認', rows: { 取引の種類: '振込', 金額: '￥1,234,567', 通貨: 'JPY', 振込先: 'カ)ヤマダショウジ', 振込先口座: 'さくら銀行 本店 普通 7654321' } },
    en: { title: 'Approve this transfer?', rows: { 'Transaction type': 'Transfer', Amount: '¥1,234,567', Currency: 'JPY', Payee: 'カ)ヤマダショウジ', 'Payee account': 'さくら銀行 本店 普通 7654321' } },
  },
  bulk_transfer: {
    context: { type: 'bulk_transfer', count: 1200, total: '45678900', currency: 'JPY', batch_id: 'SOGO-20250401-0001', memo: '4月分 仕入代金' },
    ja: { title: '総合振込の承認', rows: { 取引の種類: '総合振込', 合計金額: '￥45,678,900', 通貨: 'JPY', 件数: '1,200件', 'ファイル・バッチID': 'SOGO-20250401-0001' } },
    en: { title: 'Approve this bulk transfer?', rows: { 'Transaction type': 'Bulk transfer', 'Total amount': '¥45,678,900', Currency: 'JPY', 'Number of payments': '1,200', 'File or batch ID': 'SOGO-20250401-0001' } },
  },
  payroll_transfer: {
    context: { type: 'payroll_transfer', count: 35, total: '9876543', currency: 'JPY', payment_date: '2025-04-25', memo: '4月分 給与' },
    ja: { title: '給与・賞与振込の承認', rows: { 取引の種類: '給与・賞与振込', 合計金額: '￥9,876,543', 件数: '35件', 支払日: '2025年4月25日(金)' } },
    en: { title: 'Approve this payroll transfer?', rows: { 'Transaction type': 'Payroll transfer', 'Total amount': '¥9,876,543', 'Number of payments': '35', 'Payment date': 'Fri, April 25, 2025' } },
  },
  tax_payment: {
    context: { type: 'tax_payment', payee_institution_number: '00100', customer_number: '12345678901234567890', confirmation_number: '123456', amount: '350000', currency: 'JPY', memo: '法人税 中間申告' },
    ja: { title: '税金・料金払込みの承認', rows: { 取引の種類: '税金・各種料金の払込み(ペイジー)', 金額: '￥350,000', 収納機関番号: '00100', 'お客様番号(納付番号)': '12345678901234567890', 確認番号: '123456' } },
    en: { title: 'Approve this payment?', rows: { 'Transaction type': 'Tax or fee payment (Pay-easy)', Amount: '¥350,000', 'Payee institution number': '00100', 'Customer number': '12345678901234567890', 'Confirmation number': '123456' } },
  },
  direct_debit: {
    context: { type: 'direct_debit', creditor: '東京電力エナジーパートナー', amount: '15800', currency: 'JPY', debit_date: '2025-04-27', memo: '4月分 電気料金' },
    ja: { title: '口座振替の承認', rows: { 取引の種類: '口座振替', 金額: '￥15,800', '引落先(収納企業)': '東京電力エナジーパートナー', 引落日: '2025年4月27日(日)' } },
    en: { title: 'Approve this direct debit?', rows: { 'Transaction type': 'Direct debit', Amount: '¥15,800', Creditor: '東京電力エナジーパートナー', 'Debit date': 'Sun, April 27, 2025' } },
  },
  settings_change: {
    context: { type: 'settings_change', setting: '1日あたりの振込限度額', old_value: '', new_value: '5,000,000円', memo: '決算期のため' },
    ja: { title: '設定変更の承認', rows: { 取引の種類: '設定の変更', 設定項目: '1日あたりの振込限度額', 変更前: '(なし)', 変更後: '5,000,000円' } },
    en: { title: 'Approve this settings change?', rows: { 'Transaction type': 'Settings change', Setting: '1日あたりの振込限度額', 'Current value': '(none)', 'New value': '5,000,000円' } },
  },
};

async function openPrompt(page, c) {
  await emit(page, 'challenge', { id: c.id });
  await page.locator('#screen-prompt').waitFor();
  await page.waitForFunction(() => document.querySelector('#prompt-title').textContent !== '');
}

/** The rows of a <dl> as [label, text] pairs, in order. */
function rowsOf(page, selector) {
  return page.$$eval(`${selector} .row`, (rows) => rows.map((r) => [r.querySelector('dt').textContent, r.querySelector('dd').textContent]));
}

function withChallenges(...list) {
  const resp = responses();
  for (const c of list) resp.challenges[c.id] = c;
  return resp;
}

for (const [type, spec] of Object.entries(KINDS)) {
  for (const lang of ['ja', 'en']) {
    test(`${type} (${lang}): title, labelled rows in order, exact amounts, memo under other`, async () => {
      const c = challenge(spec.context);
      const page = await openApp(env, { lang, resp: withChallenges(c) });
      await openPrompt(page, c);
      const want = spec[lang];
      assert.equal(await page.textContent('#prompt-title'), want.title);
      const rows = (await rowsOf(page, '#prompt-details')).slice(1); // after the time row
      for (const [label, text] of Object.entries(want.rows)) {
        assert.deepEqual(rows.find(([l]) => l === label), [label, text], `${label} in ${JSON.stringify(rows)}`);
      }
      const labels = rows.map(([l]) => l);
      const order = Object.keys(want.rows).filter((l) => labels.includes(l));
      assert.deepEqual(labels.filter((l) => order.includes(l)), order, 'rows in the type\'s order');
      assert.deepEqual(await rowsOf(page, '#prompt-other'), [['memo', spec.context.memo]]);
      assert.ok(await page.isVisible('#prompt-other-block'));
      await shot(page, `prompt-${type.replace(/_/g, '-')}`, lang);
      await done(page, assert);
    });
  }
}

test('number matching is asked on a bulk transfer too, and approve waits for it', async () => {
  const c = challenge(KINDS.bulk_transfer.context, { number_matching: true });
  const page = await openApp(env, { lang: 'ja', resp: withChallenges(c) });
  await openPrompt(page, c);
  assert.ok(await page.isVisible('#prompt-number-block'));
  assert.ok(await page.isDisabled('#prompt-approve'));
  await page.fill('#prompt-number', '37');
  assert.ok(await page.isEnabled('#prompt-approve'));
  await shot(page, 'prompt-bulk-transfer-number', 'ja');
  await done(page, assert);
});

test('a transfer without type is shown as a transfer; an unknown type keeps every field under other', async () => {
  const legacy = challenge({ amount: '5000', currency: 'JPY', payee_name: 'A', payee_account: 'B' });
  const unknown = challenge({ type: 'refund', amount: '5000', currency: 'JPY', reason: 'x' });
  const page = await openApp(env, { lang: 'en', resp: withChallenges(legacy, unknown) });
  await openPrompt(page, legacy);
  assert.equal(await page.textContent('#prompt-title'), 'Approve this transfer?');
  assert.equal(await page.textContent('#prompt-details .amount dd'), '¥5,000');
  assert.ok(!(await page.isVisible('#prompt-other-block')));
  await page.click('#prompt-back');
  await openPrompt(page, unknown);
  assert.equal(await page.textContent('#prompt-title'), 'Approve this transaction?');
  const rows = (await rowsOf(page, '#prompt-details')).slice(1);
  assert.deepEqual(rows, [['Transaction type', 'refund']]);
  assert.deepEqual((await rowsOf(page, '#prompt-other')).map(([k]) => k), ['amount', 'currency', 'reason', 'type']);
  await done(page, assert);
});

test('malformed values of a known type are shown raw, never reformatted or dropped', async () => {
  const c = challenge({ type: 'payroll_transfer', count: '35', total: '9,876,543', currency: 'JPY', payment_date: '2025-02-30' });
  const page = await openApp(env, { lang: 'en', resp: withChallenges(c) });
  await openPrompt(page, c);
  const rows = Object.fromEntries((await rowsOf(page, '#prompt-details')).slice(1));
  assert.equal(rows['Total amount'], '9,876,543');
  assert.equal(rows['Number of payments'], '35', 'a string count is its text, not a formatted count');
  assert.equal(rows['Payment date'], '2025-02-30');
  await done(page, assert);
});

test('the history shows a one-line summary for each type', async () => {
  const history = Object.entries(KINDS).map(([type, spec], i) => ({
    id: `k${i}`, kind: 'transaction', tenantName: 'みらい銀行', userId: 'keiri01', status: 'approved', notMe: false,
    answeredAt: iso(T0 - (i + 1) * 3600e3), context: spec.context, type,
  }));
  const page = await openApp(env, { lang: 'ja', resp: responses({ history }) });
  await page.getByRole('button', { name: '履歴' }).click();
  await page.locator('#history-list li').first().waitFor();
  const lines = await page.$$eval('#history-list li .list-sub.ctx', (els) => els.map((e) => e.textContent));
  assert.deepEqual(lines, [
    '￥1,234,567 → カ)ヤマダショウジ',
    '総合振込 · ￥45,678,900 · 1,200件',
    '給与・賞与振込 · ￥9,876,543 · 35件',
    '税金・各種料金の払込み(ペイジー) · ￥350,000',
    '口座振替 · ￥15,800 → 東京電力エナジーパートナー',
    '設定の変更 · 1日あたりの振込限度額',
  ]);
  await shot(page, 'history-kinds', 'ja');
  await done(page, assert);
});

test('the context labels exist in Japanese and English, none empty', () => {
  assert.deepEqual(Object.keys(CONTEXT_STRINGS.ja).sort(), Object.keys(CONTEXT_STRINGS.en).sort());
  for (const [lang, table] of Object.entries(CONTEXT_STRINGS)) {
    for (const [key, value] of Object.entries(table)) assert.ok(value.trim(), `${lang} ${key}`);
  }
});
