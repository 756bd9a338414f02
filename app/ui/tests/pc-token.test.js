// pc-token.test.js — R11, this PC as a code token: the Setup screen offers it
// beside the approver and sends `tokenKind: 'otp'` only when it is chosen (no key
// file for it); Home shows the kind with the credential ID and the codes only —
// no pending list, and a challenge event opens no prompt.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, emit, shot, responses, STATE, CHALLENGES } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const notSetUp = (config = {}) => responses({
  get_state: { ...STATE, setUp: false, credentialId: null, relayUrl: null },
  get_config: { relayUrl: 'https://relay.onepush.example', keystore: { available: true, detail: null }, vaultProblem: null, ...config },
});

test('the setup screen offers this PC as a code token and sends the choice', async () => {
  const page = await openApp(env, { lang: 'en', resp: notSetUp(), wait: '#screen-setup' });
  const approver = page.getByRole('radio', { name: 'Approver (like the phone app)' });
  const pcToken = page.getByRole('radio', { name: 'This PC as a code token (codes only)' });
  await pcToken.waitFor();
  assert.equal(await approver.isChecked(), true, 'the approver is the default');
  await pcToken.check();
  await shot(page, 'setup-pc-token', 'en');
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.locator('#screen-home').waitFor();
  assert.deepEqual((await calls(page, 'setup')).map((c) => c.args), [
    { relayUrl: 'https://relay.onepush.example', tokenKind: 'otp' },
  ]);
  assert.equal(await page.textContent('#home-kind'), 'PC token (codes only)');
  await done(page, assert);
});

test('without a keystore a code token gets no key-file choice', async () => {
  const resp = notSetUp({ keystore: { available: false, detail: 'no D-Bus' } });
  const page = await openApp(env, { lang: 'en', resp, wait: '#screen-setup' });
  await page.locator('#setup-keystore-msg').waitFor();
  assert.equal(await page.isVisible('#setup-file-key'), true, 'the approver may choose a key file');
  await page.getByRole('radio', { name: 'This PC as a code token (codes only)' }).check();
  assert.equal(await page.isVisible('#setup-file-key'), false);
  assert.match(await page.textContent('#setup-keystore-msg'), /code token keeps its key in this PC's keystore/);
  await done(page, assert);
});

for (const lang of ['ja', 'en']) {
  test(`home of a PC token: its kind beside the ID, codes only (${lang})`, async () => {
    const resp = responses({ get_state: { ...STATE, tokenKind: 'otp' }, pending: [CHALLENGES.login] });
    const page = await openApp(env, { lang, resp });
    await page.locator('#home-code').waitFor();
    assert.equal(await page.textContent('#home-kind'), lang === 'ja' ? 'PCトークン(コード専用)' : 'PC token (codes only)');
    assert.equal(await page.isVisible('#home-kind-help'), true);
    assert.equal((await page.textContent('#home-code')).replace(/\s/g, ''), '492039');
    assert.deepEqual(await calls(page, 'pending'), [], 'no requests are asked for');
    await emit(page, 'challenge', { id: CHALLENGES.login.id });
    await page.clock.runFor(500);
    assert.equal(await page.isVisible('#screen-prompt'), false, 'no approval prompt');
    assert.equal(await page.isVisible('#home-pending-block'), false);
    await shot(page, 'home-pc-token', lang);
    await done(page, assert);
  });
}

test('home of an approver says so beside the ID', async () => {
  const page = await openApp(env, { lang: 'en', resp: responses({ get_state: { ...STATE, tokenKind: 'push' } }) });
  assert.equal(await page.textContent('#home-kind'), 'Approver');
  assert.equal(await page.isVisible('#home-kind-help'), false);
  await done(page, assert);
});
