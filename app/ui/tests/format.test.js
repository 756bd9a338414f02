// format.test.js — the pure helpers, run in node: exact money amounts, bidi
// neutralisation and grouping from js/format.js; the string tables of js/i18n.js.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAmount, neutralize, hasHidden, groupCredentialId, groupCode, secondsUntil } from '../js/format.js';

test('amounts keep every digit: JPY without decimals, USD with two', () => {
  assert.equal(formatAmount('1000000', 'JPY', 'ja-JP'), '￥1,000,000');
  assert.equal(formatAmount('1000000', 'JPY', 'en-US'), '¥1,000,000');
  assert.equal(formatAmount('1234567.89', 'USD', 'en-US'), '$1,234,567.89');
  assert.equal(formatAmount('1234567.89', 'USD', 'ja-JP'), '$1,234,567.89');
  assert.equal(formatAmount('1234567.8', 'USD', 'en-US'), '$1,234,567.80');
  assert.equal(formatAmount('5', 'EUR', 'en-US'), '€5.00');
});

test('amounts beyond float precision are shown exactly', () => {
  assert.equal(formatAmount('9007199254740993.01', 'USD', 'en-US'), '$9,007,199,254,740,993.01');
  assert.equal(formatAmount('123456789012345678901234567890', 'JPY', 'en-US'), '¥123,456,789,012,345,678,901,234,567,890');
  assert.equal(formatAmount('0.30000000000000004', 'USD', 'en-US'), '$0.30000000000000004');
});

test('amounts are never rounded to the currency digits', () => {
  assert.equal(formatAmount('100.505', 'USD', 'en-US'), '$100.505');
  assert.equal(formatAmount('1000.5', 'JPY', 'en-US'), '¥1,000.5');
});

test('negative amounts keep their sign, including minus zero point something', () => {
  assert.equal(formatAmount('-5', 'JPY', 'en-US'), '-¥5');
  assert.equal(formatAmount('-0.50', 'USD', 'en-US'), '-$0.50');
  assert.equal(formatAmount('-0', 'USD', 'en-US'), '$0.00');
});

test('amounts or currencies that are not well-formed are left to the caller', () => {
  for (const bad of ['1e5', '1,000', ' 1', '1.', '.5', '0x10', '', 'NaN', '1.2.3']) {
    assert.equal(formatAmount(bad, 'USD', 'en-US'), null, bad);
  }
  assert.equal(formatAmount('1', 'US', 'en-US'), null);
  assert.equal(formatAmount('1', 'U$D', 'en-US'), null);
});

test('bidi controls and invisible characters become visible markers', () => {
  assert.equal(neutralize('Evil\u202Eexe.gpj\u202C'), 'Evil⟪U+202E⟫exe.gpj⟪U+202C⟫');
  assert.equal(neutralize('a\u2066b\u2069c\u200Ed\u200Fe\u061Cf'), 'a⟪U+2066⟫b⟪U+2069⟫c⟪U+200E⟫d⟪U+200F⟫e⟪U+061C⟫f');
  for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x61c, 0x200b, 0xfeff, 0x0]) {
    const ch = String.fromCodePoint(cp);
    assert.ok(!neutralize(`x${ch}y`).includes(ch), cp.toString(16));
    assert.ok(hasHidden(`x${ch}y`));
  }
  assert.equal(neutralize('カ)ヤマダショウジ'), 'カ)ヤマダショウジ');
  assert.equal(neutralize('שלום'), 'שלום'); // right-to-left letters themselves stay
  assert.equal(hasHidden('plain'), false);
  assert.equal(hasHidden('plain'), false); // no sticky regex state between calls
});

test('credential IDs and codes are grouped for reading', () => {
  assert.equal(groupCredentialId('ONEP12345674'), 'ONEP 1234 5674');
  assert.equal(groupCredentialId('onep-1234-5674'), 'ONEP 1234 5674');
  assert.equal(groupCredentialId('weird'), 'weird');
  assert.equal(groupCode('492039'), '492 039');
  assert.equal(groupCode('12345'), '12345');
});

test('seconds until a deadline round up and stop at zero', () => {
  const now = Date.parse('2025-04-01T01:00:00Z');
  assert.equal(secondsUntil('2025-04-01T01:00:30Z', now), 30);
  assert.equal(secondsUntil('2025-04-01T01:00:00.200Z', now), 1);
  assert.equal(secondsUntil('2025-04-01T00:59:00Z', now), 0);
  assert.equal(secondsUntil('garbage', now), 0);
});

test('Japanese and English have the same strings, none empty', async () => {
  const { STRINGS } = await import('../js/i18n.js');
  assert.deepEqual(Object.keys(STRINGS.ja).sort(), Object.keys(STRINGS.en).sort());
  for (const [lang, table] of Object.entries(STRINGS)) {
    for (const [key, value] of Object.entries(table)) assert.ok(value.trim(), `${lang} ${key}`);
  }
});
