// dialogs.js — the two modal dialogs, as promises: confirm() for yes/no
// questions (reset, "this wasn't me") and pinDialog() for PIN entry. Native
// <dialog>.showModal() gives the focus trap, Escape to cancel, and returns
// focus to the opener.

import { byId, el, clear } from './dom.js';
import { t } from './i18n.js';

/** Asks a yes/no question; resolves true only when the user picks the OK button. */
export function confirm({ title, body, ok }) {
  const dlg = byId('dlg-confirm');
  byId('dlg-confirm-title').textContent = title;
  byId('dlg-confirm-body').textContent = body;
  byId('dlg-confirm-ok').textContent = ok;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    // The safe choice has the focus, so Enter does not destroy anything.
    byId('dlg-confirm-cancel').focus();
  });
}

export const PIN_PATTERN = /^\d{4,8}$/;

/**
 * Asks for one or more PINs. `fields`: [{ name, label, autocomplete }].
 * `submit(values)` runs on OK and resolves to an error message (the dialog
 * stays open and shows it) or null (the dialog closes). Resolves to the
 * submitted values, or null when cancelled.
 */
export function pinDialog({ title, body, okLabel, fields, submit }) {
  const dlg = byId('dlg-pin');
  const form = byId('dlg-pin-form');
  const box = byId('dlg-pin-fields');
  const error = byId('dlg-pin-error');
  const ok = byId('dlg-pin-ok');
  byId('dlg-pin-title').textContent = title;
  byId('dlg-pin-body').textContent = body || '';
  byId('dlg-pin-body').hidden = !body;
  ok.textContent = okLabel;
  ok.disabled = false;
  error.hidden = true;
  clear(box);
  const inputs = fields.map((f) => {
    const input = el('input', {
      id: `dlg-pin-${f.name}`,
      name: f.name,
      type: 'password',
      inputmode: 'numeric',
      maxlength: 8,
      autocomplete: f.autocomplete || 'off',
      'aria-describedby': 'dlg-pin-error',
      required: true,
    });
    box.append(el('div', { class: 'field' }, [el('label', { for: input.id, text: f.label }), input]));
    return input;
  });

  return new Promise((resolve) => {
    let result = null;
    const showError = (msg) => {
      error.textContent = msg;
      error.hidden = false;
      for (const i of inputs) i.setAttribute('aria-invalid', 'true');
      inputs[0].select();
      inputs[0].focus();
    };
    const onSubmit = async (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
      if (inputs.some((i) => !PIN_PATTERN.test(i.value))) {
        showError(t('setup.errPin'));
        return;
      }
      ok.disabled = true;
      const message = await submit(values);
      ok.disabled = false;
      if (message) {
        for (const i of inputs) i.value = '';
        showError(message);
        return;
      }
      result = values;
      dlg.close();
    };
    const onCancel = () => dlg.close();
    form.addEventListener('submit', onSubmit);
    byId('dlg-pin-cancel').addEventListener('click', onCancel);
    dlg.addEventListener(
      'close',
      () => {
        form.removeEventListener('submit', onSubmit);
        byId('dlg-pin-cancel').removeEventListener('click', onCancel);
        for (const i of inputs) i.value = '';
        resolve(result);
      },
      { once: true },
    );
    dlg.showModal();
    inputs[0].focus();
  });
}
