// settings.test.js — Setup (validation, PIN twice, `setup`), language choice
// (switches <html lang>, remembered across a reload), PIN switch needing the
// current PIN, and reset only after confirmation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, responses, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const notSetUp = () => responses({ get_state: { ...STATE, setUp: false, credentialId: null, relayUrl: null } });

test('setup checks the relay URL and the PIN, then creates the credential', async () => {
  const page = await openApp(env, { lang: 'en', resp: notSetUp(), wait: '#screen-setup' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'setup-title');
  await page.getByLabel('Relay server URL').fill('http://relay.example');
  await page.getByRole('button', { name: 'Create credential' }).click();
  assert.equal(await page.textContent('#setup-relay-err'), 'Enter a URL starting with https://');
  assert.equal(await page.getAttribute('#setup-relay', 'aria-invalid'), 'true');
  await page.getByLabel('Relay server URL').fill('https://relay.bank.example/');
  await page.getByRole('checkbox', { name: 'Ask for a PIN before approving' }).check();
  await page.getByLabel('PIN (4–8 digits)').fill('2468');
  await page.getByLabel('PIN (again)').fill('2469');
  await page.getByRole('button', { name: 'Create credential' }).click();
  assert.equal(await page.textContent('#setup-pin-err'), 'The two PINs do not match.');
  assert.equal((await calls(page, 'setup')).length, 0);
  await page.getByLabel('PIN (again)').fill('2468');
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.locator('#screen-home').waitFor();
  assert.deepEqual((await calls(page, 'setup')).map((c) => c.args), [{ relayUrl: 'https://relay.bank.example/', pin: '2468' }]);
  assert.equal(await page.textContent('#home-credential'), 'ONEP 1234 5674');
  await done(page, assert);
});

test('setup without a PIN sends only the relay URL; a relay error is shown', async () => {
  const resp = notSetUp();
  resp.setup = { __seq: [{ __error: { kind: 'relay_unreachable', message: 'connect refused' } }, resp.setup] };
  const page = await openApp(env, { lang: 'ja', resp, wait: '#screen-setup' });
  await page.getByRole('button', { name: 'クレデンシャルを作成' }).click();
  await page.locator('#setup-error').waitFor();
  assert.equal(await page.textContent('#setup-error'), '中継サーバーに接続できません。通信環境を確認してください。');
  await page.getByRole('button', { name: 'クレデンシャルを作成' }).click();
  await page.locator('#screen-home').waitFor();
  assert.deepEqual((await calls(page, 'setup')).map((c) => c.args), [
    { relayUrl: 'https://relay.onepush.example' },
    { relayUrl: 'https://relay.onepush.example' },
  ]);
  await done(page, assert);
});

test('the language follows the system, can be switched, and is remembered', async () => {
  const page = await openApp(env, { lang: 'ja' });
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  await page.getByRole('button', { name: '設定' }).click();
  await page.getByLabel('表示言語').selectOption('en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await page.textContent('#settings-title'), 'Settings');
  assert.equal(await page.textContent('.nav-item[data-screen="home"] span'), 'Home');
  assert.deepEqual((await calls(page, 'set_settings')).map((c) => c.args), [{ language: 'en' }]);
  await page.reload();
  await page.locator('#screen-home').waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#home-title'), 'Home');
  await page.getByRole('button', { name: 'Settings' }).click();
  assert.equal(await page.inputValue('#settings-language'), 'en');
  await page.getByLabel('Language').selectOption('system');
  await page.waitForFunction(() => document.documentElement.lang === 'ja');
  await done(page, assert);
});

test('turning the PIN off needs the current PIN; cancelling keeps it on', async () => {
  const resp = responses({ get_state: { ...STATE, pinBeforeApprove: true, pinSet: true } });
  const page = await openApp(env, { lang: 'en', resp });
  await page.getByRole('button', { name: 'Settings' }).click();
  const sw = page.getByRole('switch', { name: 'Ask for a PIN before approving' });
  assert.ok(await sw.isChecked());
  await sw.click();
  await page.locator('#dlg-pin').waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('#dlg-pin').waitFor({ state: 'hidden' });
  // The switch is put back once the dialog has closed (the next render).
  await page.waitForFunction(() => document.getElementById('settings-pin').checked, null, { timeout: 5000 });
  assert.ok(await sw.isChecked());
  assert.equal((await calls(page, 'set_settings')).length, 0);
  await sw.click();
  await page.getByLabel('Current PIN').fill('2468');
  await page.getByRole('button', { name: 'Turn off' }).click();
  await page.locator('#dlg-pin').waitFor({ state: 'hidden' });
  assert.deepEqual((await calls(page, 'set_settings')).map((c) => c.args), [{ pinBeforeApprove: false, currentPin: '2468' }]);
  assert.equal(await sw.isChecked(), false);
  await done(page, assert);
});

test('turning the PIN on without one asks for a new PIN twice', async () => {
  const page = await openApp(env, { lang: 'ja' });
  await page.getByRole('button', { name: '設定' }).click();
  assert.equal(await page.isVisible('#settings-set-pin'), false);
  await page.getByRole('switch').click();
  await page.getByLabel('新しいPIN(数字4〜8桁)').fill('1357');
  await page.getByLabel('新しいPIN(確認)').fill('1358');
  await page.getByRole('button', { name: '保存' }).click();
  assert.equal(await page.textContent('#dlg-pin-error'), '確認用のPINが一致しません。');
  await page.getByLabel('新しいPIN(数字4〜8桁)').fill('1357');
  await page.getByLabel('新しいPIN(確認)').fill('1357');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('#dlg-pin').waitFor({ state: 'hidden' });
  assert.deepEqual((await calls(page, 'set_settings')).map((c) => c.args), [{ pinBeforeApprove: true, pin: '1357' }]);
  assert.ok(await page.getByRole('switch').isChecked());
  assert.ok(await page.isVisible('#settings-set-pin'));
  await done(page, assert);
});

test('reset asks for confirmation and only then invokes reset', async () => {
  const page = await openApp(env, { lang: 'en' });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Delete credential and reset' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this credential?' });
  await dialog.waitFor();
  assert.ok((await dialog.textContent()).includes('ONEP 1234 5674'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'dlg-confirm-cancel');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await calls(page, 'reset')).length, 0);
  await page.getByRole('button', { name: 'Delete credential and reset' }).click();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await calls(page, 'reset')).length, 0);
  await page.getByRole('button', { name: 'Delete credential and reset' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.locator('#screen-setup').waitFor();
  assert.deepEqual((await calls(page, 'reset')).map((c) => c.args), [{}]);
  assert.equal(await page.isVisible('#nav'), false);
  await done(page, assert);
});
