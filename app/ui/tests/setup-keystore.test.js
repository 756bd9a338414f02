// setup-keystore.test.js — the Setup screen and the OS keystore: without one, it
// says so and sends `keyMode: 'file'` only when the user ticks the (weaker) key-file
// choice; a vault that cannot be opened is named, and "start over" resets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, responses, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const notSetUp = (config) => responses({
  get_state: { ...STATE, setUp: false, credentialId: null, relayUrl: null },
  get_config: { relayUrl: 'https://relay.onepush.example', keystore: { available: true, detail: null }, vaultProblem: null, ...config },
});

test('with a keystore the setup screen shows no key-file choice and sends no key mode', async () => {
  const page = await openApp(env, { lang: 'en', resp: notSetUp({}), wait: '#screen-setup' });
  await page.getByRole('button', { name: 'Create credential' }).waitFor();
  assert.equal(await page.isVisible('#setup-keystore'), false);
  assert.equal(await page.isVisible('#setup-vault-problem'), false);
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.locator('#screen-home').waitFor();
  assert.deepEqual((await calls(page, 'setup')).map((c) => c.args), [{ relayUrl: 'https://relay.onepush.example' }]);
  await done(page, assert);
});

test('without a keystore it says so, and the key file is used only when chosen', async () => {
  const resp = notSetUp({ keystore: { available: false, detail: 'no OS keystore is available on this device (no D-Bus)' } });
  resp.setup = { __seq: [{ __error: { kind: 'keystore_unavailable', message: 'no OS keystore is available on this device (no D-Bus): choose to keep the key in a file (weaker) to set up anyway' } }, resp.setup] };
  const page = await openApp(env, { lang: 'en', resp, wait: '#screen-setup' });
  await page.locator('#setup-keystore-msg').waitFor();
  assert.match(await page.textContent('#setup-keystore-msg'), /no OS keystore available \(no OS keystore is available on this device \(no D-Bus\)\)/);
  const choice = page.getByRole('checkbox', { name: 'Keep the key in a file instead (weaker)' });
  assert.equal(await choice.isChecked(), false, 'not chosen for the user');
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.locator('#setup-error').waitFor();
  assert.match(await page.textContent('#setup-error'), /keep the key in a file/);
  await choice.check();
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.locator('#screen-home').waitFor();
  assert.deepEqual((await calls(page, 'setup')).map((c) => c.args), [
    { relayUrl: 'https://relay.onepush.example' },
    { relayUrl: 'https://relay.onepush.example', keyMode: 'file' },
  ]);
  await done(page, assert);
});

test('a vault that does not open is named, and start over resets it', async () => {
  const problem = "this vault's key is not in this device's keystore: the folder was copied from another device or account";
  const page = await openApp(env, { lang: 'en', resp: notSetUp({ vaultProblem: problem }), wait: '#screen-setup' });
  await page.locator('#setup-vault-problem-msg').waitFor();
  assert.equal(await page.textContent('#setup-vault-problem-msg'), `The data on this device cannot be opened: ${problem}`);
  await page.getByRole('button', { name: 'Start over (remove the unreadable data)' }).click();
  await page.locator('#setup-vault-problem').waitFor({ state: 'hidden' });
  assert.equal((await calls(page, 'reset')).length, 1);
  await done(page, assert);
});
