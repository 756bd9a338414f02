// offline.test.js — the offline code screen (RFC 6287 OCRA): paste the bank's
// payload, the transaction shows with the prompt's own view (heading, labelled
// rows, exact money, "other"), ✓ asks the backend for the code (with the PIN when
// set), the code shows; refusals from the backend show their message and no code.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, responses, shot, CHALLENGES, STATE, T0 } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const OFFLINE = { ...CHALLENGES.transaction, id: '0195f0a2-0000-7000-8000-000000000099' };
const PAYLOAD = 'eyJ2IjoxLCJpIjoiMDE5NWYwYTItMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDk5In0';
const CODE = { code: '40735918', id: OFFLINE.id, expires_at: Math.floor(T0 / 1000) + 300 };

function offlineResponses(extra = {}) {
  return responses({ offline_read: OFFLINE, offline_code: CODE, ...extra });
}

async function readPayload(page) {
  await page.click('#home-offline');
  await page.locator('#screen-offline').waitFor();
  await page.fill('#offline-payload', `  ${PAYLOAD}\n`);
  await page.click('#offline-read');
  await page.locator('#offline-view').waitFor();
}

for (const lang of ['ja', 'en']) {
  test(`a pasted payload shows the transaction as the prompt does, then the code (${lang})`, async () => {
    const page = await openApp(env, { lang, resp: offlineResponses() });
    await readPayload(page);
    assert.deepEqual((await calls(page, 'offline_read')).map((c) => c.args), [{ payload: PAYLOAD }]);
    const heading = await page.textContent('#offline-heading');
    assert.equal(heading, lang === 'ja' ? '振込の承認' : 'Approve this transfer?');
    const details = await page.textContent('#offline-details');
    for (const v of ['1,000,000', 'カ)ヤマダショウジ', 'みずほ 本店 普通 1234567']) {
      assert.ok(details.includes(v), `${v} in ${details}`);
    }
    // transfer_date is not a transfer field: shown under "other", as in the prompt.
    assert.ok((await page.textContent('#offline-other')).includes('2025-04-01'));
    assert.equal(await page.textContent('#offline-bank'), 'みらい銀行');
    assert.equal(await page.isVisible('#offline-result'), false);
    await shot(page, 'offline-transaction', lang);
    await page.click('#offline-approve');
    await page.locator('#offline-result').waitFor();
    assert.deepEqual((await calls(page, 'offline_code')).map((c) => c.args), [{ id: OFFLINE.id }]);
    assert.equal(await page.textContent('#offline-code'), '4073 5918');
    assert.equal(await page.isVisible('#offline-actions'), false);
    await shot(page, 'offline-code', lang);
    await done(page, assert);
  });
}

test('the prompt and the offline screen show the same rows for one transaction', async () => {
  const page = await openApp(env, { lang: 'en', resp: offlineResponses() });
  await readPayload(page);
  const offlineRows = await page.$$eval('#offline-details .row', (rows) => rows.map((r) => r.textContent));
  await page.click('#offline-back');
  await page.evaluate((id) => window.__mock.emit('challenge', { id }), CHALLENGES.transaction.id);
  await page.locator('#screen-prompt').waitFor();
  await page.waitForFunction(() => document.querySelector('#prompt-title').textContent !== '');
  // The prompt adds its request time first; the context rows follow, the same.
  const promptRows = await page.$$eval('#prompt-details .row', (rows) => rows.map((r) => r.textContent));
  assert.deepEqual(promptRows.slice(1), offlineRows);
  assert.equal(await page.textContent('#prompt-title'), 'Approve this transfer?');
  await done(page, assert);
});

test('with a PIN set, the code needs the PIN', async () => {
  const resp = offlineResponses({ get_state: { ...STATE, pinBeforeApprove: true, pinSet: true } });
  const page = await openApp(env, { lang: 'en', resp });
  await readPayload(page);
  await page.click('#offline-approve');
  await page.locator('#dlg-pin').waitFor();
  await page.fill('#dlg-pin-pin', '2580');
  await page.click('#dlg-pin-ok');
  await page.locator('#offline-result').waitFor();
  assert.deepEqual((await calls(page, 'offline_code')).map((c) => c.args), [{ id: OFFLINE.id, pin: '2580' }]);
  await done(page, assert);
});

test('a refused payload shows why and no transaction', async () => {
  const message = "this offline challenge's deadline passed 12 s ago; ask the bank for a new one";
  const page = await openApp(env, {
    lang: 'en',
    resp: offlineResponses({ offline_read: { __error: { kind: 'offline_refused', message } } }),
  });
  await page.click('#home-offline');
  await page.click('#offline-read');
  assert.equal(await page.textContent('#offline-error'), 'Paste the code the bank shows.');
  assert.equal((await calls(page, 'offline_read')).length, 0);
  await page.fill('#offline-payload', PAYLOAD);
  await page.click('#offline-read');
  await page.waitForFunction(() => !document.querySelector('#offline-error').hidden
    && document.querySelector('#offline-error').textContent.includes('deadline'));
  assert.equal(await page.isVisible('#offline-view'), false);
  assert.equal((await calls(page, 'offline_code')).length, 0);
  await done(page, assert);
});

test('desktops paste the payload: no camera scan is offered', async () => {
  const page = await openApp(env, { resp: offlineResponses() });
  await page.click('#home-offline');
  await page.locator('#screen-offline').waitFor();
  assert.equal(await page.isVisible('#offline-scan'), false);
  await done(page, assert);
});

test('phones scan the bank\'s QR code with the camera and show what it asks', async () => {
  const page = await openApp(env, {
    resp: offlineResponses({
      get_config: { relayUrl: 'https://relay.onepush.example', qrScanner: true },
      'plugin:barcode-scanner|scan': { content: PAYLOAD },
    }),
  });
  await page.click('#home-offline');
  await page.locator('#offline-scan').waitFor();
  await page.click('#offline-scan');
  await page.locator('#offline-view').waitFor();
  assert.deepEqual((await calls(page, 'plugin:barcode-scanner|scan')).map((c) => c.args),
    [{ windowed: false, formats: ['QR_CODE'] }]);
  assert.deepEqual((await calls(page, 'offline_read')).map((c) => c.args), [{ payload: PAYLOAD }]);
  assert.equal(await page.inputValue('#offline-payload'), PAYLOAD);
  await done(page, assert);
});
