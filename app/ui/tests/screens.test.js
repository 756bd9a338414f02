// screens.test.js — every screen in Japanese and English, light (and the home
// and prompt in dark), with a screenshot of each under target/ui-screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, shot, done, emit, responses, CHALLENGES, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

const TEXT = {
  ja: { home: 'ホーム', code: 'セキュリティコード', setup: 'クレデンシャルを作成', history: '履歴', settings: '設定', approve: '承認', deny: '拒否', login: 'ログイン', transaction: 'お取引', admin: '管理操作' },
  en: { home: 'Home', code: 'Security code', setup: 'Create credential', history: 'History', settings: 'Settings', approve: 'Approve', deny: 'Deny', login: 'Login', transaction: 'Transaction', admin: 'Admin' },
};

for (const lang of ['ja', 'en']) {
  const L = TEXT[lang];

  test(`setup screen (${lang})`, async () => {
    const resp = responses({ get_state: { ...STATE, setUp: false, credentialId: null, relayUrl: null } });
    const page = await openApp(env, { lang, resp, wait: '#screen-setup' });
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await page.getByRole('button', { name: L.setup }).waitFor();
    assert.equal(await page.inputValue('#setup-relay'), 'https://relay.onepush.example');
    assert.equal(await page.isVisible('#nav'), false);
    await page.check('#setup-use-pin');
    await shot(page, 'setup', lang);
    await done(page, assert);
  });

  test(`home screen (${lang})`, async () => {
    const page = await openApp(env, { lang });
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal(await page.textContent('#home-credential'), 'ONEP 1234 5674');
    assert.equal(await page.textContent('#home-code'), '492 039');
    assert.equal(await page.textContent('#home-next'), '118 274');
    assert.equal(await page.textContent('#home-seconds'), '12');
    await page.getByText('Sakura Trust Bank').waitFor();
    assert.equal(await page.locator('#home-accounts li').count(), 3);
    assert.equal(await page.getAttribute('.nav-item[data-screen="home"]', 'aria-current'), 'page');
    await shot(page, 'home', lang);
    await done(page, assert);
  });

  test(`home screen, dark (${lang})`, async () => {
    const page = await openApp(env, { lang, colorScheme: 'dark' });
    await page.getByText('Sakura Trust Bank').waitFor();
    await shot(page, 'home-dark', lang);
    await done(page, assert);
  });

  for (const kind of ['login', 'transaction', 'admin']) {
    test(`prompt screen, ${kind} (${lang})`, async () => {
      const page = await openApp(env, { lang });
      await emit(page, 'challenge', { id: CHALLENGES[kind].id });
      await page.locator('#screen-prompt').waitFor();
      assert.equal(await page.textContent('#prompt-badge'), L[kind]);
      assert.equal(await page.textContent('#prompt-bank'), CHALLENGES[kind].tenant_name);
      await page.getByRole('button', { name: L.approve, exact: true }).waitFor();
      await page.getByRole('button', { name: L.deny, exact: true }).waitFor();
      await shot(page, `prompt-${kind}`, lang);
      await done(page, assert);
    });
  }

  test(`prompt screen, number matching (${lang})`, async () => {
    const page = await openApp(env, { lang });
    await emit(page, 'challenge', { id: CHALLENGES.loginNumber.id });
    await page.locator('#prompt-number').waitFor();
    await page.fill('#prompt-number', '42');
    await shot(page, 'prompt-number', lang);
    await done(page, assert);
  });

  test(`prompt screen, dark (${lang})`, async () => {
    const page = await openApp(env, { lang, colorScheme: 'dark' });
    await emit(page, 'challenge', { id: CHALLENGES.usd.id });
    await page.locator('#screen-prompt').waitFor();
    await shot(page, 'prompt-dark', lang);
    await done(page, assert);
  });

  test(`prompt screen, expired (${lang})`, async () => {
    const page = await openApp(env, { lang });
    await emit(page, 'challenge', { id: CHALLENGES.expired.id });
    await page.locator('#prompt-status').waitFor();
    await shot(page, 'prompt-expired', lang);
    await done(page, assert);
  });

  test(`prompt screen, approved (${lang})`, async () => {
    const page = await openApp(env, { lang });
    await emit(page, 'challenge', { id: CHALLENGES.transaction.id });
    await page.getByRole('button', { name: L.approve, exact: true }).click();
    await page.locator('#prompt-status').waitFor();
    await shot(page, 'prompt-approved', lang);
    await done(page, assert);
  });

  test(`prompt screen, bidi payee (${lang})`, async () => {
    const page = await openApp(env, { lang });
    await emit(page, 'challenge', { id: CHALLENGES.bidi.id });
    await page.locator('#prompt-marker-help').waitFor();
    await shot(page, 'prompt-bidi', lang);
    await done(page, assert);
  });

  test(`PIN dialog (${lang})`, async () => {
    const page = await openApp(env, { lang, resp: responses({ get_state: { ...STATE, pinBeforeApprove: true, pinSet: true } }) });
    await emit(page, 'challenge', { id: CHALLENGES.login.id });
    await page.getByRole('button', { name: L.approve, exact: true }).click();
    await page.locator('#dlg-pin').waitFor();
    await shot(page, 'prompt-pin', lang);
    await done(page, assert);
  });

  test(`history screen (${lang})`, async () => {
    const page = await openApp(env, { lang });
    await page.getByRole('button', { name: L.history }).click();
    await page.locator('#screen-history').waitFor();
    assert.equal(await page.locator('#history-list li').count(), 5);
    await shot(page, 'history', lang);
    await done(page, assert);
  });

  test(`settings screen and reset dialog (${lang})`, async () => {
    const page = await openApp(env, { lang, resp: responses({ get_state: { ...STATE, pinBeforeApprove: true, pinSet: true } }) });
    await page.getByRole('button', { name: L.settings }).click();
    await page.locator('#screen-settings').waitFor();
    assert.equal(await page.textContent('#settings-credential'), 'ONEP 1234 5674');
    assert.equal(await page.textContent('#settings-relay'), 'https://relay.onepush.example');
    await shot(page, 'settings', lang);
    await page.click('#settings-reset');
    await page.locator('#dlg-confirm').waitFor();
    await shot(page, 'reset-confirm', lang);
    await done(page, assert);
  });
}
