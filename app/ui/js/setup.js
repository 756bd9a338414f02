// setup.js — the Setup screen: relay URL (prefilled from `get_config`), how the
// device is used (an approver like the phone app, or this PC as a code-only token,
// R11), the optional PIN (typed twice), and `setup` to create the credential. Where the
// device has no OS keystore, it says so and offers the (weaker) key file as an
// explicit choice; a vault that cannot be opened is named, with "start over".

import { api } from './backend.js';
import { byId } from './dom.js';
import { t } from './i18n.js';
import { PIN_PATTERN } from './dialogs.js';
import { errorText } from './errors.js';
import { neutralize } from './format.js';

let prefilled = false;

/** https anywhere; plain http only to this machine (a relay under development). */
export function validRelayUrl(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function fieldError(input, errorEl, message) {
  errorEl.textContent = message || '';
  errorEl.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

export function init(ctx) {
  const usePin = byId('setup-use-pin');
  usePin.addEventListener('change', () => {
    byId('setup-pin-fields').hidden = !usePin.checked;
    if (usePin.checked) byId('setup-pin').focus();
  });
  byId('setup-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(ctx);
  });
  byId('setup-start-over').addEventListener('click', () => startOver());
  for (const id of ['setup-kind-push', 'setup-kind-otp']) byId(id).addEventListener('change', renderNotices);
}

/** `otp` when "this PC as a code token" is chosen, else `push`. */
function tokenKind() {
  return byId('setup-kind-otp').checked ? 'otp' : 'push';
}

let config = null;

/** The keystore notice and the unreadable-vault notice, from `get_config`. */
function renderNotices() {
  const keystore = config && config.keystore;
  const noKeystore = Boolean(keystore && keystore.available === false);
  // A PC token is sealed to this PC's keystore: the key file is not offered for it.
  const pcToken = tokenKind() === 'otp';
  byId('setup-keystore').hidden = !noKeystore;
  byId('setup-file-key').closest('.field').hidden = pcToken;
  if (noKeystore) {
    const detail = neutralize(keystore.detail || '?');
    byId('setup-keystore-msg').textContent = t(pcToken ? 'setup.noKeystoreOtp' : 'setup.noKeystore', { d: detail });
  }
  if (!noKeystore || pcToken) byId('setup-file-key').checked = false;
  const problem = config && config.vaultProblem;
  byId('setup-vault-problem').hidden = !problem;
  if (problem) byId('setup-vault-problem-msg').textContent = t('setup.vaultProblem', { m: neutralize(problem) });
}

async function startOver() {
  const error = byId('setup-error');
  error.hidden = true;
  try {
    await api.reset();
    config = { ...config, vaultProblem: null };
    renderNotices();
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
  }
}

export async function show() {
  if (prefilled) return;
  prefilled = true;
  try {
    config = await api.getConfig();
    const relay = byId('setup-relay');
    if (!relay.value && config && config.relayUrl) relay.value = config.relayUrl;
    renderNotices();
  } catch {
    /* the user can type it */
  }
}

function validate() {
  const relay = byId('setup-relay');
  const pin = byId('setup-pin');
  const pin2 = byId('setup-pin2');
  const relayOk = validRelayUrl(relay.value.trim());
  fieldError(relay, byId('setup-relay-err'), relayOk ? '' : t('setup.errRelay'));
  let pinMsg = '';
  if (byId('setup-use-pin').checked) {
    if (!PIN_PATTERN.test(pin.value)) pinMsg = t('setup.errPin');
    else if (pin.value !== pin2.value) pinMsg = t('setup.errPinMatch');
  }
  fieldError(pin, byId('setup-pin-err'), pinMsg);
  fieldError(pin2, byId('setup-pin-err'), pinMsg);
  if (!relayOk) relay.focus();
  else if (pinMsg) pin.focus();
  return relayOk && !pinMsg;
}

async function submit(ctx) {
  if (!validate()) return;
  const button = byId('setup-submit');
  const error = byId('setup-error');
  error.hidden = true;
  button.disabled = true;
  button.textContent = t('setup.creating');
  try {
    const pin = byId('setup-use-pin').checked ? byId('setup-pin').value : undefined;
    const keyMode = byId('setup-file-key').checked ? 'file' : undefined;
    const state = await api.setup(byId('setup-relay').value.trim(), pin, keyMode, tokenKind());
    byId('setup-pin').value = '';
    byId('setup-pin2').value = '';
    ctx.setState(state);
    ctx.go('home');
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = t('setup.create');
  }
}

export function render() {
  // Static strings are re-applied by i18n; refresh the notices and visible validation messages.
  renderNotices();
  if (!byId('setup-relay-err').hidden || !byId('setup-pin-err').hidden) validate();
}
