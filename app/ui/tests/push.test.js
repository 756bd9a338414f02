// push.test.js — phones: the notifications plugin's events, forwarded by the UI
// (js/push.js). A tapped push notification, also one that started the app, opens
// the prompt of its challenge (context rows, number matching); a message while the
// app runs and a renewed token go to the backend; the desktop listens to nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, emitPlugin, responses, CHALLENGES } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const phone = (extra = {}) => responses({
  push_status: { pluginEvents: true, channel: 'apns' },
  'plugin:notifications|set_click_listener_active': null,
  push_message: { id: CHALLENGES.login.id, dropped: null },
  push_token: 'apns',
  ...extra,
});

/** Waits until the page listens to the plugin's click event. */
async function listening(page) {
  await page.waitForFunction(() => window.__mock.callsOf('plugin:notifications|set_click_listener_active').length === 1);
}

test('a tapped push opens the prompt of its challenge, with its context and number matching', async () => {
  const c = { ...CHALLENGES.transaction, number_matching: true };
  const resp = phone({
    push_opened: { id: c.id, dropped: null },
    challenges: { [c.id]: c },
  });
  const page = await openApp(env, { lang: 'ja', resp });
  await listening(page);
  assert.deepEqual(
    (await calls(page, 'addPluginListener')).map((x) => x.args.event).sort(),
    ['notification', 'notificationClicked', 'push-message', 'push-token'],
  );
  assert.equal(await page.isVisible('#screen-prompt'), false);

  // iOS: the relay's alert, tapped, carries the encrypted message in its data.
  await emitPlugin(page, 'notifications', 'notificationClicked', { id: 7, data: { aps: { alert: {} }, onepush_message: 'bWVzc2FnZQ' } });
  await page.locator('#screen-prompt').waitFor();
  await page.waitForFunction(() => document.querySelector('#prompt-title').textContent !== '');
  assert.deepEqual((await calls(page, 'push_opened')).map((x) => x.args), [{ message: 'bWVzc2FnZQ' }]);
  assert.deepEqual((await calls(page, 'get_challenge')).map((x) => x.args), [{ id: c.id }]);
  assert.equal(await page.textContent('#prompt-title'), '振込の承認');
  const details = await page.textContent('#prompt-details');
  for (const v of ['カ)ヤマダショウジ', 'みずほ 本店 普通 1234567', '1,000,000']) {
    assert.ok(details.includes(v), `${v} in ${details}`);
  }
  assert.equal(await page.isVisible('#prompt-number'), true, 'number matching is asked');
  assert.ok(await page.locator('#prompt-approve').isDisabled());
  await page.fill('#prompt-number', '42');
  await page.click('#prompt-approve');
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'approve')).map((x) => x.args), [{ id: c.id, number: 42 }]);
  await done(page, assert);
});

test('the app\'s own notification, tapped, opens the challenge it names', async () => {
  const resp = phone({ push_opened: { id: CHALLENGES.admin.id, dropped: null } });
  const page = await openApp(env, { lang: 'en', resp });
  await listening(page);
  await emitPlugin(page, 'notifications', 'notificationClicked', { id: 3, data: { challengeId: CHALLENGES.admin.id } });
  await page.waitForFunction(() => document.querySelector('#prompt-badge').textContent === 'Admin');
  assert.deepEqual((await calls(page, 'push_opened')).map((x) => x.args), [{ challengeId: CHALLENGES.admin.id }]);
  const details = await page.textContent('#prompt-details');
  assert.ok(details.includes('reset_login_password') && details.includes('keiri02'), details);
  await done(page, assert);
});

test('a dropped push opens nothing', async () => {
  const resp = phone({ push_opened: { id: null, dropped: 'the push message does not decrypt with this device\'s keys' } });
  const page = await openApp(env, { lang: 'en', resp });
  await listening(page);
  await emitPlugin(page, 'notifications', 'notificationClicked', { id: 9, data: { onepush_message: 'dGFtcGVyZWQ' } });
  await page.waitForFunction(() => window.__mock.callsOf('push_opened').length === 1);
  assert.equal(await page.isVisible('#screen-prompt'), false);
  assert.equal((await calls(page, 'get_challenge')).length, 0);
  await done(page, assert);
});

test('messages and renewed tokens go to the backend', async () => {
  const page = await openApp(env, { lang: 'en', resp: phone() });
  await listening(page);
  // Android: FCM data under `data`.
  await emitPlugin(page, 'notifications', 'push-message', { data: { onepush_message: 'AAAA' }, messageId: 'm1' });
  await emitPlugin(page, 'notifications', 'push-token', { token: 'f00d' });
  // A notification without a OnePush message (the app's own) is not forwarded.
  await emitPlugin(page, 'notifications', 'notification', { id: 1, title: 'x', extra: { challengeId: 'c' } });
  await page.waitForFunction(() => window.__mock.callsOf('push_token').length === 1);
  assert.deepEqual((await calls(page, 'push_message')).map((x) => x.args), [{ message: 'AAAA' }]);
  assert.deepEqual((await calls(page, 'push_token')).map((x) => x.args), [{ token: 'f00d' }]);
  await done(page, assert);
});

test('the desktop forwards nothing', async () => {
  const page = await openApp(env, { lang: 'en' });
  await page.waitForFunction(() => window.__mock.callsOf('push_status').length === 1);
  assert.equal((await calls(page, 'addPluginListener')).length, 0);
  await done(page, assert);
});
