// unlock.js — the Unlock screen: the vault is sealed with the PIN together with
// this device's keystore, so the app opens with the PIN (`unlock`). Wrong PINs
// count and lock like an approval's; a forgotten PIN means starting over
// (`reset` removes the local data; the bank's registration must be redone).

import { api } from './backend.js';
import { byId } from './dom.js';
import { t } from './i18n.js';
import { PIN_PATTERN, confirm } from './dialogs.js';
import { errorText } from './errors.js';

function showError(message) {
  const e = byId('unlock-error');
  e.textContent = message || '';
  e.hidden = !message;
  const input = byId('unlock-pin');
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

export function init(ctx) {
  byId('unlock-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(ctx);
  });
  byId('unlock-start-over').addEventListener('click', () => startOver(ctx));
}

export function show() {
  showError('');
  byId('unlock-pin').focus();
}

async function submit(ctx) {
  const input = byId('unlock-pin');
  const pin = input.value;
  if (!PIN_PATTERN.test(pin)) {
    showError(t('setup.errPin'));
    input.focus();
    return;
  }
  const button = byId('unlock-submit');
  button.disabled = true;
  try {
    const state = await api.unlock(pin);
    input.value = '';
    showError('');
    ctx.setState(state);
    ctx.go('home');
    await ctx.refreshPending({ open: true });
  } catch (err) {
    input.value = '';
    showError(errorText(err));
    input.focus();
  } finally {
    button.disabled = false;
  }
}

async function startOver(ctx) {
  const yes = await confirm({
    title: t('unlock.startOverTitle'),
    body: t('unlock.startOverBody'),
    ok: t('unlock.startOver'),
  });
  if (!yes) return;
  try {
    ctx.setState(await api.reset());
    ctx.go('setup');
  } catch (err) {
    showError(errorText(err));
  }
}
