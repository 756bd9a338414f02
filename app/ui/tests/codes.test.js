// codes.test.js — the Home countdown: ticks each second under a fake clock,
// asks the backend for new codes when it reaches 0, and says so politely.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const text = (page, sel) => page.textContent(sel);

test('the countdown ticks once a second', async () => {
  const page = await openApp(env, { lang: 'en' });
  assert.equal(await text(page, '#home-seconds'), '12');
  assert.equal(await text(page, '#home-seconds-text'), '12 s left');
  const ring0 = Number(await page.getAttribute('#home-ring', 'stroke-dashoffset'));
  await page.clock.runFor(1000);
  assert.equal(await text(page, '#home-seconds'), '11');
  await page.clock.runFor(5000);
  assert.equal(await text(page, '#home-seconds'), '6');
  const ring1 = Number(await page.getAttribute('#home-ring', 'stroke-dashoffset'));
  assert.ok(ring1 > ring0, `ring empties: ${ring0} → ${ring1}`);
  assert.equal((await calls(page, 'codes')).length, 1);
  await done(page, assert);
});

test('at 0 the codes are fetched again and the next code becomes current', async () => {
  const page = await openApp(env, { lang: 'ja' });
  assert.equal(await text(page, '#home-code'), '492 039');
  assert.equal(await text(page, '#home-code-sr'), '4 9 2 0 3 9');
  await page.clock.runFor(11000);
  assert.equal(await text(page, '#home-seconds'), '1');
  assert.equal(await text(page, '#home-code'), '492 039');
  await page.clock.runFor(1000);
  await page.waitForFunction(() => document.querySelector('#home-code').textContent === '118 274');
  assert.equal(await text(page, '#home-next'), '730 615');
  assert.equal(await text(page, '#home-seconds'), '30');
  assert.equal((await calls(page, 'codes')).length, 2);
  await page.clock.runFor(100);
  assert.equal(await text(page, '#live-polite'), 'セキュリティコードが更新されました');
  // A full period later it refreshes again, and only once.
  await page.clock.runFor(30000);
  await page.waitForFunction(() => window.__mock.callsOf('codes').length === 3);
  await page.clock.runFor(5000);
  assert.equal((await calls(page, 'codes')).length, 3);
  await done(page, assert);
});

test('the countdown stops while another screen is shown and resumes on return', async () => {
  const page = await openApp(env, { lang: 'en' });
  await page.getByRole('button', { name: 'History' }).click();
  await page.clock.runFor(60000);
  assert.equal((await calls(page, 'codes')).length, 1);
  await page.getByRole('button', { name: 'Home' }).click();
  await page.waitForFunction(() => window.__mock.callsOf('codes').length === 2);
  await done(page, assert);
});
