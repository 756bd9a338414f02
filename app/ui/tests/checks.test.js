// checks.test.js — the check the backend runs before an approval, as the UI
// shows it (`AppState.approvalCheck`): none, the PIN dialog (desktop), the
// biometric path (phones: no PIN dialog, the backend runs the system prompt);
// and a request that changed after it was shown, or was never shown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, emit, responses, CHALLENGES, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

async function openPrompt(page, c) {
  await emit(page, 'challenge', { id: c.id });
  await page.locator('#screen-prompt').waitFor();
  await page.waitForFunction(() => document.querySelector('#prompt-title').textContent !== '');
}

const withCheck = (approvalCheck, extra = {}) => responses({
  get_state: { ...STATE, pinBeforeApprove: approvalCheck !== 'none', pinSet: approvalCheck !== 'none', approvalCheck },
  ...extra,
});

test('check none: approve is sent at once, with no PIN and no dialog', async () => {
  const page = await openApp(env, { lang: 'en', resp: withCheck('none') });
  await openPrompt(page, CHALLENGES.login);
  await page.click('#prompt-approve');
  await page.waitForFunction(() => document.querySelector('#prompt-status').textContent === 'Approved');
  assert.equal(await page.isVisible('#dlg-pin'), false);
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [{ id: CHALLENGES.login.id }]);
  await done(page, assert);
});

test('check pin (desktop): approved only after the PIN the backend accepts', async () => {
  const resp = withCheck('pin', {
    approve: { __seq: [{ __error: { kind: 'pin_invalid', message: 'wrong' } }, { __decide: 'approved' }] },
  });
  const page = await openApp(env, { lang: 'ja', resp });
  await openPrompt(page, CHALLENGES.transaction);
  await page.click('#prompt-approve');
  await page.locator('#dlg-pin').waitFor();
  await page.fill('#dlg-pin-pin', '1357');
  await page.click('#dlg-pin-ok');
  await page.waitForFunction(() => document.querySelector('#dlg-pin-error').textContent === 'PINが正しくありません。');
  assert.equal(await page.isVisible('#prompt-status'), false, 'not approved after a failed check');
  await page.fill('#dlg-pin-pin', '2468');
  await page.click('#dlg-pin-ok');
  await page.waitForFunction(() => document.querySelector('#prompt-status').textContent === '承認しました');
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [
    { id: CHALLENGES.transaction.id, pin: '1357' },
    { id: CHALLENGES.transaction.id, pin: '2468' },
  ]);
  await done(page, assert);
});

test('check biometric (phones): no PIN dialog; a failed check approves nothing and can be retried', async () => {
  const resp = withCheck('biometric', {
    approve: { __seq: [{ __error: { kind: 'biometric_failed', message: 'the identity check did not pass' } }, { __decide: 'approved' }] },
  });
  const page = await openApp(env, { lang: 'en', resp });
  await openPrompt(page, CHALLENGES.login);
  // Hold the answer, to see what shows while the system prompt is up.
  await page.evaluate(() => {
    const invoke = window.__TAURI__.core.invoke;
    window.__release = null;
    window.__TAURI__.core.invoke = async (cmd, args) => {
      if (cmd === 'approve') await new Promise((r) => { window.__release = r; });
      return invoke(cmd, args);
    };
  });
  await page.click('#prompt-approve');
  await page.waitForFunction(() => window.__release !== null);
  assert.equal(await page.textContent('#prompt-status'), 'Confirm it is you with your device\'s biometrics…');
  assert.equal(await page.isVisible('#dlg-pin'), false, 'no PIN dialog on phones');
  assert.ok(await page.locator('#prompt-approve').isDisabled());
  await page.evaluate(() => window.__release());
  await page.waitForFunction(() => !document.querySelector('#prompt-error').hidden);
  assert.equal(await page.textContent('#prompt-error'), 'Your identity was not confirmed. Nothing was approved.');
  assert.equal(await page.isVisible('#prompt-status'), false, 'not approved');
  assert.ok(await page.locator('#prompt-approve').isEnabled(), 'can try again');

  await page.evaluate(() => { window.__release = null; });
  await page.click('#prompt-approve');
  await page.waitForFunction(() => window.__release !== null);
  await page.evaluate(() => window.__release());
  await page.waitForFunction(() => document.querySelector('#prompt-status').textContent === 'Approved');
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [{ id: CHALLENGES.login.id }, { id: CHALLENGES.login.id }]);
  assert.equal(await page.isVisible('#dlg-pin'), false);
  await done(page, assert);
});

test('a request that changed after it was shown is marked suspicious and cannot be answered', async () => {
  const changed = { __error: { kind: 'challenge_changed', message: 'changed' } };
  const resp = withCheck('none', { approve: changed });
  const page = await openApp(env, { lang: 'ja', resp });
  await openPrompt(page, CHALLENGES.transaction);
  await page.evaluate(([id, err]) => { window.__mock.responses.challenges[id] = err; }, [CHALLENGES.transaction.id, changed]);
  await page.click('#prompt-approve');
  await page.locator('#prompt-changed').waitFor();
  assert.ok((await page.textContent('#prompt-changed')).includes('不正の可能性'));
  // What was shown stays on screen, next to the warning; nothing can be sent.
  assert.ok((await page.textContent('#prompt-details')).includes('カ)ヤマダショウジ'));
  assert.equal(await page.isVisible('#prompt-approve'), false);
  assert.equal(await page.isVisible('#prompt-notme'), false);
  assert.ok(await page.isVisible('#prompt-done'));
  assert.equal((await calls(page, 'approve')).length, 1);
  assert.equal((await calls(page, 'deny')).length, 0);
  await done(page, assert);
});

test('the challenge-changed event and a changed fetch both show the warning', async () => {
  const page = await openApp(env, { lang: 'en', resp: withCheck('none') });
  await openPrompt(page, CHALLENGES.login);
  await emit(page, 'challenge-changed', { id: CHALLENGES.login.id });
  await page.locator('#prompt-changed').waitFor();
  assert.equal(await page.isVisible('#prompt-approve'), false);
  await page.click('#prompt-done');
  await page.locator('#screen-home').waitFor();

  // Opening one whose fetch says it changed: the warning alone, no details.
  await page.evaluate((id) => {
    window.__mock.responses.challenges[id] = { __error: { kind: 'challenge_changed', message: 'changed' } };
  }, CHALLENGES.admin.id);
  await emit(page, 'challenge', { id: CHALLENGES.admin.id });
  await page.locator('#prompt-changed').waitFor();
  assert.equal(await page.textContent('#prompt-title'), 'This request changed');
  assert.equal(await page.isVisible('#prompt-details'), false);
  assert.equal(await page.isVisible('#prompt-approve'), false);
  await done(page, assert);
});

test('a request the backend never showed is fetched again before it can be answered', async () => {
  const resp = withCheck('none', {
    approve: { __seq: [{ __error: { kind: 'challenge_not_shown', message: 'not shown' } }, { __decide: 'approved' }] },
  });
  const page = await openApp(env, { lang: 'en', resp });
  await openPrompt(page, CHALLENGES.login);
  await page.click('#prompt-approve');
  await page.waitForFunction(() => !document.querySelector('#prompt-error').hidden);
  assert.equal(await page.textContent('#prompt-error'), 'This request was not shown yet. Check it before answering.');
  await page.waitForFunction(() => window.__mock.callsOf('get_challenge').length === 2);
  assert.ok(await page.locator('#prompt-approve').isEnabled());
  await done(page, assert);
});
