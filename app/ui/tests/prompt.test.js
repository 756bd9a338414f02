// prompt.test.js — the approval prompt: opens on a `challenge` event (and for
// pending ones at start), number matching, approve / deny / "this wasn't me"
// send the right commands, PIN before approve, expired / cancelled states,
// neutralised bidi controls, exact amounts, unknown fields shown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, openApp, done, calls, emit, responses, CHALLENGES, STATE } from './harness.js';

let env;
before(async () => { env = await environment(); });
after(() => env && env.close());

async function openPrompt(page, c) {
  await emit(page, 'challenge', { id: c.id });
  await page.locator('#screen-prompt').waitFor();
  await page.waitForFunction((id) => document.querySelector('#prompt-title').textContent !== '', c.id);
}

const approveBtn = (page) => page.locator('#prompt-approve');
const denyBtn = (page) => page.locator('#prompt-deny');

test('a challenge event opens the prompt and moves focus to it', async () => {
  const page = await openApp(env, { lang: 'ja' });
  assert.equal(await page.isVisible('#screen-prompt'), false);
  await openPrompt(page, CHALLENGES.login);
  assert.deepEqual((await calls(page, 'get_challenge')).map((c) => c.args), [{ id: CHALLENGES.login.id }]);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt-title');
  assert.equal(await page.textContent('#prompt-title'), 'ログインの承認');
  assert.equal(await page.textContent('#prompt-badge'), 'ログイン');
  assert.equal(await page.isVisible('#nav'), false);
  const details = await page.textContent('#prompt-details');
  for (const v of ['203.0.113.7', 'Chrome 124 / Windows 11', '東京都千代田区', '2025/04/01 09:59:55']) {
    assert.ok(details.includes(v), `${v} in ${details}`);
  }
  assert.equal(await page.textContent('#prompt-timeleft'), '残り55秒');
  await done(page, assert);
});

test('pending challenges are pulled at start and the oldest opens', async () => {
  const resp = responses({ pending: [CHALLENGES.admin, CHALLENGES.login] });
  const page = await openApp(env, { lang: 'en', resp, wait: '#screen-prompt' });
  await page.waitForFunction(() => document.querySelector('#prompt-badge').textContent === 'Admin');
  const details = await page.textContent('#prompt-details');
  assert.ok(details.includes('reset_login_password') && details.includes('keiri02'), details);
  await done(page, assert);
});

test('approve sends approve with the challenge id', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.login);
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [{ id: CHALLENGES.login.id }]);
  assert.equal(await page.textContent('#prompt-status'), 'Approved');
  assert.ok(await approveBtn(page).isDisabled());
  assert.ok(await denyBtn(page).isDisabled());
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt-done');
  await page.click('#prompt-done');
  await page.locator('#screen-home').waitFor();
  await done(page, assert);
});

test('deny sends deny with notMe false', async () => {
  const page = await openApp(env, { lang: 'ja' });
  await openPrompt(page, CHALLENGES.transaction);
  await page.getByRole('button', { name: '拒否', exact: true }).click();
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'deny')).map((c) => c.args), [{ id: CHALLENGES.transaction.id, notMe: false }]);
  assert.equal((await calls(page, 'approve')).length, 0);
  assert.equal(await page.textContent('#prompt-status'), '拒否しました');
  await done(page, assert);
});

test('"this wasn\'t me" asks first, then sends deny with notMe true', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.login);
  await page.getByRole('button', { name: 'This wasn\'t me' }).click();
  await page.locator('#dlg-confirm').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'dlg-confirm-cancel');
  await page.click('#dlg-confirm-cancel');
  assert.equal((await calls(page, 'deny')).length, 0);
  await page.getByRole('button', { name: 'This wasn\'t me' }).click();
  await page.getByRole('button', { name: 'Deny and tell my bank' }).click();
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'deny')).map((c) => c.args), [{ id: CHALLENGES.login.id, notMe: true }]);
  assert.equal(await page.textContent('#prompt-status'), 'Denied and reported to your bank');
  await done(page, assert);
});

test('number matching: approve stays disabled until two digits are typed, then sends the number', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.loginNumber);
  await page.locator('#prompt-number').waitFor();
  assert.ok(await approveBtn(page).isDisabled());
  assert.ok(await denyBtn(page).isEnabled(), 'deny never needs the number');
  await page.click('#prompt-approve', { force: true });
  await page.fill('#prompt-number', '4');
  assert.ok(await approveBtn(page).isDisabled());
  await page.fill('#prompt-number', '4x');
  assert.equal(await page.inputValue('#prompt-number'), '4');
  await page.fill('#prompt-number', '42');
  assert.ok(await approveBtn(page).isEnabled());
  assert.equal((await calls(page, 'approve')).length, 0);
  await page.press('#prompt-number', 'Enter');
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [{ id: CHALLENGES.loginNumber.id, number: 42 }]);
  await done(page, assert);
});

test('a wrong number is reported and can be typed again', async () => {
  const resp = responses({
    approve: { __seq: [{ __error: { kind: 'number_mismatch', message: 'number does not match' } }, { __decide: 'approved' }] },
  });
  const page = await openApp(env, { lang: 'ja', resp });
  await openPrompt(page, CHALLENGES.loginNumber);
  await page.fill('#prompt-number', '17');
  await page.click('#prompt-approve');
  await page.locator('#prompt-error').waitFor();
  assert.equal(await page.textContent('#prompt-error'), '数字が一致しません。銀行の画面の数字を確認してください。');
  assert.equal(await page.inputValue('#prompt-number'), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt-number');
  await page.fill('#prompt-number', '42');
  await page.click('#prompt-approve');
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args.number), [17, 42]);
  await done(page, assert);
});

test('with PIN on, approve asks for the PIN and sends it; a wrong PIN is said in the dialog', async () => {
  const resp = responses({
    get_state: { ...STATE, pinBeforeApprove: true, pinSet: true },
    approve: { __seq: [{ __error: { kind: 'pin_invalid', message: 'wrong pin' } }, { __decide: 'approved' }] },
  });
  const page = await openApp(env, { lang: 'en', resp });
  await openPrompt(page, CHALLENGES.login);
  await page.click('#prompt-approve');
  await page.locator('#dlg-pin').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'dlg-pin-pin');
  assert.equal((await calls(page, 'approve')).length, 0);
  await page.getByLabel('PIN', { exact: true }).fill('12');
  await page.click('#dlg-pin-ok');
  assert.equal(await page.textContent('#dlg-pin-error'), 'The PIN must be 4 to 8 digits.');
  assert.equal((await calls(page, 'approve')).length, 0);
  await page.getByLabel('PIN', { exact: true }).fill('9999');
  await page.click('#dlg-pin-ok');
  await page.waitForFunction(() => document.querySelector('#dlg-pin-error').textContent === 'Wrong PIN.');
  assert.ok(await page.isVisible('#dlg-pin'));
  await page.getByLabel('PIN', { exact: true }).fill('2468');
  await page.click('#dlg-pin-ok');
  await page.locator('#dlg-pin').waitFor({ state: 'hidden' });
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [
    { id: CHALLENGES.login.id, pin: '9999' },
    { id: CHALLENGES.login.id, pin: '2468' },
  ]);
  await done(page, assert);
});

test('cancelling the PIN dialog sends nothing', async () => {
  const resp = responses({ get_state: { ...STATE, pinBeforeApprove: true, pinSet: true } });
  const page = await openApp(env, { lang: 'ja', resp });
  await openPrompt(page, CHALLENGES.login);
  await page.click('#prompt-approve');
  await page.locator('#dlg-pin').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#dlg-pin').waitFor({ state: 'hidden' });
  assert.equal((await calls(page, 'approve')).length, 0);
  assert.ok(await approveBtn(page).isEnabled());
  await done(page, assert);
});

test('an expired challenge shows so and its buttons are disabled', async () => {
  const page = await openApp(env, { lang: 'ja' });
  await openPrompt(page, CHALLENGES.expired);
  assert.equal(await page.textContent('#prompt-status'), '回答期限が過ぎました。もう一度、銀行の画面から操作してください。');
  for (const id of ['#prompt-approve', '#prompt-deny', '#prompt-notme']) assert.ok(await page.isDisabled(id), id);
  assert.equal(await page.isVisible('#prompt-timeleft-block'), false);
  await page.click('#prompt-approve', { force: true });
  assert.equal((await calls(page, 'approve')).length, 0);
  await done(page, assert);
});

test('a pending challenge expires on screen when its time runs out', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.login);
  assert.ok(await approveBtn(page).isEnabled());
  await page.clock.runFor(25000);
  assert.equal(await page.textContent('#prompt-timeleft'), '30 s left');
  await page.clock.runFor(100);
  assert.equal(await page.textContent('#live-polite'), '30 seconds left to answer');
  await page.clock.runFor(30000);
  await page.waitForFunction(() => document.querySelector('#prompt-approve').disabled);
  assert.equal(await page.textContent('#prompt-status'), 'This request has expired. Start again from your bank\'s screen.');
  assert.ok(await denyBtn(page).isDisabled());
  await done(page, assert);
});

test('a challenge-status event (cancelled, answered elsewhere) disables the prompt', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.transaction);
  await emit(page, 'challenge-status', { id: CHALLENGES.transaction.id, status: 'cancelled' });
  await page.locator('#prompt-status').waitFor();
  assert.equal(await page.textContent('#prompt-status'), 'This request was cancelled.');
  assert.ok(await approveBtn(page).isDisabled());
  await openPrompt(page, CHALLENGES.login);
  await emit(page, 'challenge-status', { id: CHALLENGES.login.id, status: 'approved' });
  await page.waitForFunction(() => document.querySelector('#prompt-status').textContent === 'This request has already been answered.');
  assert.ok(await approveBtn(page).isDisabled());
  await done(page, assert);
});

test('a second challenge waits until the first is answered', async () => {
  const pending = { __seq: [[], [CHALLENGES.login], [CHALLENGES.login, CHALLENGES.admin]] };
  const page = await openApp(env, { lang: 'en', resp: responses({ pending }) });
  await openPrompt(page, CHALLENGES.login);
  await emit(page, 'challenge', { id: CHALLENGES.admin.id });
  await page.clock.runFor(100);
  assert.equal(await page.textContent('#prompt-badge'), 'Login');
  await page.click('#prompt-approve');
  await page.locator('#prompt-next').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt-next');
  await page.click('#prompt-next');
  await page.waitForFunction(() => document.querySelector('#prompt-badge').textContent === 'Admin');
  assert.ok(await approveBtn(page).isEnabled());
  await done(page, assert);
});

test('bidi controls in a payee name are shown as markers, never applied', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.bidi);
  const payee = await page.locator('#prompt-details .row', { hasText: 'Payee' }).first().locator('dd').textContent();
  assert.equal(payee, 'Evil⟪U+202E⟫exe.gpj⟪U+202C⟫ Payee');
  const account = await page.locator('#prompt-details .row', { hasText: 'Payee account' }).locator('dd').textContent();
  assert.equal(account, '⟪U+2066⟫999⟪U+2069⟫-0001');
  const all = await page.evaluate(() => document.body.textContent);
  assert.ok(!/[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/.test(all), 'no bidi control reaches the page');
  assert.ok(await page.isVisible('#prompt-marker-help'));
  await done(page, assert);
});

test('markup in context values is shown as text', async () => {
  const evil = { ...CHALLENGES.login, id: '0195f0a2-0000-7000-8000-000000000099', tenant_name: '<img src=x onerror=alert(1)>Bank', context: { ip: '<b>1.2.3.4</b>', user_agent: 'x', '<i>note</i>': '<script>alert(1)</script>' } };
  const resp = responses();
  resp.challenges[evil.id] = evil;
  const page = await openApp(env, { lang: 'en', resp });
  await openPrompt(page, evil);
  assert.equal(await page.textContent('#prompt-bank'), '<img src=x onerror=alert(1)>Bank');
  assert.equal(await page.locator('#screen-prompt img, #screen-prompt b, #screen-prompt script').count(), 0);
  assert.equal(await page.textContent('#prompt-other dt'), '<i>note</i>');
  await done(page, assert);
});

test('transaction amounts: JPY without decimals, USD with two; unknown fields listed', async () => {
  for (const [lang, jpy, usd] of [['ja', '￥1,000,000', '$1,234,567.89'], ['en', '¥1,000,000', '$1,234,567.89']]) {
    const page = await openApp(env, { lang });
    await openPrompt(page, CHALLENGES.transaction);
    assert.equal(await page.textContent('#prompt-details .amount dd'), jpy);
    assert.equal(await page.isVisible('#prompt-other-block'), true);
    assert.equal(await page.textContent('#prompt-other'), 'transfer_date2025-04-01');
    const details = await page.textContent('#prompt-details');
    assert.ok(details.includes('カ)ヤマダショウジ') && details.includes('みずほ 本店 普通 1234567'), details);
    await page.click('#prompt-back');
    await openPrompt(page, CHALLENGES.usd);
    await page.waitForFunction((v) => document.querySelector('#prompt-details .amount dd').textContent === v, usd);
    assert.equal(await page.isVisible('#prompt-other-block'), false);
    await done(page, assert);
  }
});

test('the prompt can be answered with the keyboard alone', async () => {
  const page = await openApp(env, { lang: 'en' });
  await openPrompt(page, CHALLENGES.login);
  const order = [];
  for (let i = 0; i < 10; i += 1) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement.id);
    order.push(id);
    if (id === 'prompt-approve') break;
  }
  assert.equal(order.at(-1), 'prompt-approve', `tab order: ${order.join(', ')}`);
  assert.ok(order.indexOf('prompt-deny') < order.indexOf('prompt-approve'));
  await page.keyboard.press('Enter');
  await page.locator('#prompt-status').waitFor();
  assert.deepEqual((await calls(page, 'approve')).map((c) => c.args), [{ id: CHALLENGES.login.id }]);
  assert.ok(await page.isVisible('#screen-prompt'), 'the same key press did not also leave the prompt');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt-done');
  await done(page, assert);
});

test('a challenge arriving over an open settings dialog closes it without acting', async () => {
  const page = await openApp(env, { lang: 'en' });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Delete credential and reset' }).click();
  await page.locator('#dlg-confirm').waitFor();
  await openPrompt(page, CHALLENGES.transaction);
  await page.locator('#dlg-confirm').waitFor({ state: 'hidden' });
  assert.equal((await calls(page, 'reset')).length, 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt-title');
  await done(page, assert);
});
