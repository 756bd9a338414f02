// unlock.test.js — a vault sealed with the PIN: the app opens on the Unlock
// screen and asks the backend for nothing else until `unlock` succeeds; a wrong
// PIN shows the backend's refusal and keeps the screen; a forgotten PIN starts over.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, responses, shot, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const LOCKED = { ...STATE, locked: true, credentialId: null, relayUrl: null, pinSet: true, pinBeforeApprove: true };

for (const lang of ['ja', 'en']) {
  test(`a locked app opens with the PIN only (${lang})`, async () => {
    const resp = responses({
      get_state: LOCKED,
      unlock: { __seq: [
        { __error: { kind: 'pin_invalid', message: 'the PIN is wrong' } },
        { ...STATE, locked: false, pinSet: true, pinBeforeApprove: true },
      ] },
    });
    const page = await openApp(env, { lang, resp, wait: '#screen-unlock' });
    assert.equal(await page.isVisible('#nav'), false, 'no way around the lock');
    await shot(page, 'unlock', lang);
    assert.deepEqual(await calls(page, 'pending'), [], 'nothing asked while locked');
    assert.deepEqual(await calls(page, 'codes'), []);

    await page.fill('#unlock-pin', '12');
    await page.click('#unlock-submit');
    await page.locator('#unlock-error').waitFor();
    assert.deepEqual(await calls(page, 'unlock'), [], 'a malformed PIN is not sent');

    await page.fill('#unlock-pin', '1357');
    await page.click('#unlock-submit');
    await page.waitForFunction(() => window.__mock.callsOf('unlock').length === 1);
    await page.locator('#unlock-error').waitFor();
    assert.equal(
      await page.textContent('#unlock-error'),
      lang === 'ja' ? 'PINが正しくありません。' : 'Wrong PIN.',
    );
    assert.equal(await page.inputValue('#unlock-pin'), '', 'the wrong PIN is cleared');
    assert.equal(await page.isVisible('#screen-unlock'), true);

    await page.fill('#unlock-pin', '2468');
    await page.click('#unlock-submit');
    await page.locator('#screen-home').waitFor();
    assert.deepEqual((await calls(page, 'unlock')).map((c) => c.args), [{ pin: '1357' }, { pin: '2468' }]);
    await page.waitForFunction(() => window.__mock.callsOf('pending').length > 0);
    await done(page, assert);
  });
}

test('a forgotten PIN starts over after a confirmation', async () => {
  const page = await openApp(env, { lang: 'en', resp: responses({ get_state: LOCKED, get_config: { relayUrl: 'https://relay.onepush.example' } }), wait: '#screen-unlock' });
  await page.getByRole('button', { name: 'Forgot the PIN: start over' }).click();
  await page.locator('#dlg-confirm').waitFor();
  await page.click('#dlg-confirm-cancel');
  assert.deepEqual(await calls(page, 'reset'), []);
  await page.getByRole('button', { name: 'Forgot the PIN: start over' }).click();
  await page.click('#dlg-confirm-ok');
  await page.locator('#screen-setup').waitFor();
  assert.equal((await calls(page, 'reset')).length, 1);
  await done(page, assert);
});
