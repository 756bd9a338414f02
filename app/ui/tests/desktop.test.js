// desktop.test.js — the desktop-only setting: "start at login" is shown on a
// desktop (state.desktop), off unless the user turns it on, and sent to the
// backend as `startAtLogin`; phones do not show it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, responses, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

test('start at login is a desktop switch, off until turned on', async () => {
  const resp = responses({ get_state: { ...STATE, desktop: true, startAtLogin: false } });
  const page = await openApp(env, { lang: 'en', resp });
  await page.click(".nav-item[data-screen='settings']");
  const toggle = page.getByRole('switch', { name: 'Start at login' });
  await toggle.waitFor();
  assert.equal(await toggle.isChecked(), false, 'off by default');
  await toggle.check();
  await page.waitForFunction(() => window.__mock.callsOf('set_settings').length === 1);
  assert.deepEqual((await calls(page, 'set_settings')).map((c) => c.args), [{ startAtLogin: true }]);
  assert.equal(await toggle.isChecked(), true);
  await toggle.uncheck();
  await page.waitForFunction(() => window.__mock.callsOf('set_settings').length === 2);
  assert.deepEqual((await calls(page, 'set_settings'))[1].args, { startAtLogin: false });
  await done(page, assert);
});

test('phones have no start-at-login switch', async () => {
  const resp = responses({ get_state: { ...STATE, desktop: false, startAtLogin: false } });
  const page = await openApp(env, { lang: 'en', resp });
  await page.click(".nav-item[data-screen='settings']");
  await page.locator('#screen-settings').waitFor();
  assert.equal(await page.isVisible('#settings-desktop'), false);
  await done(page, assert);
});
