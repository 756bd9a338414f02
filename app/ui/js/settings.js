// settings.js — the Settings screen: language (saved here and in the
// backend), PIN before approve (turning it off or changing the PIN needs the
// current PIN; a new PIN seals the vault again), start at login (desktop, off
// unless turned on), the credential and relay (read-only), and reset with a
// confirmation (revokes the credential, R6).

import { api } from './backend.js';
import { byId, announce } from './dom.js';
import * as i18n from './i18n.js';
import { groupCredentialId, neutralize } from './format.js';
import { confirm, pinDialog } from './dialogs.js';
import { errorText } from './errors.js';

const { t } = i18n;
const PIN_ERRORS = new Set(['pin_invalid', 'pin_locked', 'pin_required', 'invalid_input']);

let ctxRef = null;

export function init(ctx) {
  ctxRef = ctx;
  byId('settings-language').addEventListener('change', onLanguage);
  byId('settings-pin').addEventListener('change', onPinSwitch);
  byId('settings-set-pin').addEventListener('click', changePin);
  byId('settings-autostart').addEventListener('change', (ev) => {
    showError('');
    save({ startAtLogin: ev.target.checked }).then(render);
  });
  byId('settings-reset').addEventListener('click', reset);
}

export function show() {
  showError('');
  render();
}

export function render() {
  const s = ctxRef.state || {};
  byId('settings-language').value = i18n.savedChoice();
  byId('settings-pin').checked = Boolean(s.pinBeforeApprove);
  const setPin = byId('settings-set-pin');
  setPin.textContent = t('settings.changePin');
  setPin.hidden = !s.pinSet;
  byId('settings-desktop').hidden = !s.desktop;
  byId('settings-autostart').checked = Boolean(s.startAtLogin);
  byId('settings-credential').textContent = groupCredentialId(s.credentialId);
  byId('settings-relay').textContent = neutralize(s.relayUrl || '');
}

function showError(message) {
  const e = byId('settings-error');
  e.textContent = message;
  e.hidden = !message;
}

/** Calls set_settings; PIN errors go back to the open dialog, others to the screen. */
async function save(changes) {
  try {
    ctxRef.setState(await api.setSettings(changes));
    render();
    announce(t('settings.saved'));
    return null;
  } catch (err) {
    if (PIN_ERRORS.has(err.kind)) return errorText(err);
    showError(errorText(err));
    return null;
  }
}

async function onLanguage(ev) {
  const choice = ev.target.value;
  i18n.choose(choice);
  await save({ language: choice });
}

const newPinFields = () => [
  { name: 'pin', label: t('pin.new'), autocomplete: 'new-password' },
  { name: 'pin2', label: t('pin.confirm'), autocomplete: 'new-password' },
];

/** Checks the two new PINs agree before anything is sent. */
const matching = (send) => async (v) => (v.pin !== v.pin2 ? t('setup.errPinMatch') : send(v));

async function onPinSwitch(ev) {
  const on = ev.target.checked;
  const s = ctxRef.state || {};
  showError('');
  if (on && s.pinSet) {
    await save({ pinBeforeApprove: true });
  } else if (on) {
    await pinDialog({
      title: t('pin.setTitle'),
      okLabel: t('pin.save'),
      fields: newPinFields(),
      submit: matching((v) => save({ pinBeforeApprove: true, pin: v.pin })),
    });
  } else if (s.pinSet) {
    await pinDialog({
      title: t('pin.offTitle'),
      body: t('pin.offBody'),
      okLabel: t('pin.offSubmit'),
      fields: [{ name: 'currentPin', label: t('pin.current'), autocomplete: 'current-password' }],
      submit: (v) => save({ pinBeforeApprove: false, currentPin: v.currentPin }),
    });
  } else {
    await save({ pinBeforeApprove: false });
  }
  render(); // a cancelled dialog puts the switch back
}

async function changePin() {
  showError('');
  await pinDialog({
    title: t('settings.changePin'),
    okLabel: t('pin.save'),
    fields: [{ name: 'currentPin', label: t('pin.current'), autocomplete: 'current-password' }, ...newPinFields()],
    submit: matching((v) => save({ currentPin: v.currentPin, pin: v.pin })),
  });
}

async function reset() {
  showError('');
  const yes = await confirm({
    title: t('settings.resetTitle'),
    body: t('settings.resetBody', { id: groupCredentialId(ctxRef.state && ctxRef.state.credentialId) }),
    ok: t('settings.resetConfirm'),
  });
  if (!yes) return;
  const button = byId('settings-reset');
  button.disabled = true;
  try {
    ctxRef.setState(await api.reset());
    ctxRef.pending = [];
    ctxRef.go('setup');
  } catch (err) {
    showError(errorText(err));
  } finally {
    button.disabled = false;
  }
}
