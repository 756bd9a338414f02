// offline.js — the offline code screen (RFC 6287 OCRA): the device has no network;
// the user pastes or types the payload the bank shows (the content of its QR
// code), the backend reads it (`offline_read`) and the transaction is shown with
// the prompt's own view (context-view.js: same heading, rows, money and "other");
// after ✓ (and the PIN when the settings ask for it) the backend computes the
// 8-digit code over the payload it read (`offline_code`), shown to type into the
// bank's page. Nothing here reaches the relay.

import { api } from './backend.js';
import { byId, clear, announce } from './dom.js';
import { t, locale } from './i18n.js';
import { contextText, formatDateTime, hasHidden } from './format.js';
import { contextTitle, renderContext } from './context-view.js';
import { kindClass, kindLabel } from './labels.js';
import { pinDialog } from './dialogs.js';
import { errorText } from './errors.js';

const PIN_ERRORS = new Set(['pin_invalid', 'pin_locked', 'pin_required']);

let ctxRef = null;
let shown = null; // the DeviceChallenge the backend read from the payload
let result = null; // { code, id, expires_at } once approved

export function init(ctx) {
  ctxRef = ctx;
  byId('home-offline').addEventListener('click', () => ctx.go('offline'));
  byId('offline-back').addEventListener('click', () => ctx.go('home'));
  byId('offline-read').addEventListener('click', read);
  byId('offline-scan').addEventListener('click', scan);
  // Phones scan the bank's QR code with the camera; desktops paste its content.
  api.getConfig().then((config) => { byId('offline-scan').hidden = !(config && config.qrScanner); }, () => {});
  byId('offline-cancel').addEventListener('click', reset);
  byId('offline-approve').addEventListener('click', approve);
}

export function show(ctx, previous) {
  if (previous !== 'offline') reset();
  render();
}

export function hide() {}

function reset() {
  shown = null;
  result = null;
  byId('offline-payload').value = '';
  showError('');
  render();
}

function showError(message) {
  const e = byId('offline-error');
  e.textContent = message;
  e.hidden = !message;
}

export function render() {
  byId('offline-entry').hidden = Boolean(shown);
  byId('offline-view').hidden = !shown;
  byId('offline-result').hidden = !result;
  byId('offline-actions').hidden = Boolean(result);
  const badge = byId('offline-badge');
  badge.hidden = !shown;
  if (!shown) return;
  const c = shown;
  const kind = kindClass(c.kind);
  badge.className = `badge badge-${kind}`;
  badge.textContent = kindLabel(c.kind);
  const context = c.context && typeof c.context === 'object' ? c.context : {};
  byId('offline-heading').textContent = kind === 'other' ? kindLabel(c.kind) : contextTitle(kind, context);
  byId('offline-bank').textContent = contextText(c.tenant_name);
  byId('offline-user').textContent = contextText(c.user_id);
  const details = byId('offline-details');
  clear(details);
  const others = renderContext(details, byId('offline-other'), kind, context);
  byId('offline-other-block').hidden = others === 0;
  const suspicious = [c.tenant_name, c.user_id, ...Object.keys(context), ...Object.values(context)]
    .some((v) => hasHidden(typeof v === 'string' ? v : JSON.stringify(v)));
  byId('offline-marker-help').hidden = !suspicious;
  if (result) {
    byId('offline-code').textContent = /^\d{8}$/.test(result.code) ? `${result.code.slice(0, 4)} ${result.code.slice(4)}` : result.code;
    byId('offline-code-help').textContent = t('offline.codeHelp', {
      time: formatDateTime(new Date(result.expires_at * 1000).toISOString(), locale()),
    });
  }
}

/** Phones: the camera reads the bank's QR code into the field, then as "show". */
async function scan() {
  showError('');
  let scanned;
  try {
    scanned = await api.scanQr();
  } catch (err) {
    showError(errorText(err));
    return;
  }
  if (!scanned || typeof scanned.content !== 'string') return;
  byId('offline-payload').value = scanned.content;
  await read();
}

async function read() {
  const payload = byId('offline-payload').value.trim();
  if (!payload) {
    showError(t('offline.empty'));
    return;
  }
  showError('');
  try {
    shown = await api.offlineRead(payload);
  } catch (err) {
    showError(errorText(err));
    return;
  }
  result = null;
  render();
  byId('offline-heading').setAttribute('tabindex', '-1');
  byId('offline-heading').focus();
}

/** The check the backend runs before an approval: 'pin', 'biometric' or 'none'. */
function approvalCheck() {
  const state = ctxRef.state || {};
  if (['pin', 'biometric', 'none'].includes(state.approvalCheck)) return state.approvalCheck;
  return state.pinBeforeApprove ? 'pin' : 'none';
}

async function approve() {
  if (!shown || result) return;
  const id = shown.id;
  const done = (r) => {
    result = r;
    render();
    announce(t('offline.codeLabel'));
  };
  if (approvalCheck() !== 'pin') {
    try {
      done(await api.offlineCode(id));
    } catch (err) {
      showError(errorText(err));
    }
    return;
  }
  let other = null;
  await pinDialog({
    title: t('pin.title'),
    body: t('pin.body'),
    okLabel: t('pin.submit'),
    fields: [{ name: 'pin', label: t('pin.label'), autocomplete: 'current-password' }],
    submit: async ({ pin }) => {
      try {
        done(await api.offlineCode(id, pin));
        return null;
      } catch (err) {
        if (PIN_ERRORS.has(err.kind)) return errorText(err);
        other = err;
        return null;
      }
    },
  });
  if (other) showError(errorText(other));
}
