// prompt.js — the approval prompt: shows a DeviceChallenge exactly as signed
// (every context value as neutralised text, unknown fields too), the time
// left, number entry when the bank asked for number matching, the check the
// backend runs before an approval (`approvalCheck`: the PIN dialog on desktop,
// the system's biometric prompt on phones, none), and sends `approve` / `deny`.
// A request whose content changed after it was shown (`challenge_changed`) is
// shown as suspicious and cannot be answered. Opens by itself on a `challenge`
// event (see app.js).

import { api } from './backend.js';
import { byId, el, clear, announce } from './dom.js';
import { t, locale } from './i18n.js';
import { contextText, formatDateTime, hasHidden, secondsUntil } from './format.js';
import { contextTitle, renderContext } from './context-view.js';
import { kindClass, kindLabel, outcomeLabel } from './labels.js';
import { confirm, pinDialog } from './dialogs.js';
import { errorText } from './errors.js';

const ANNOUNCE_AT = [60, 30, 10];
const ENDED = ['expired', 'cancelled', 'undeliverable', 'credential_mismatch'];
const PIN_ERRORS = new Set(['pin_invalid', 'pin_locked', 'pin_required']);
/** Errors after which reloading the challenge would show nothing new. */
const NO_RELOAD = new Set(['relay_unreachable', 'biometric_failed', ...PIN_ERRORS]);

let ctxRef = null;
let challenge = null; // the DeviceChallenge shown
let answered = null; // 'approved' | 'denied' | 'notMe' once this device answered it
let changed = false; // the relay's copy differs from the one shown: never answered
let sending = false;
let timer = null;
let announced = new Set();

// --- state -----------------------------------------------------------------------

/** The status to show: the challenge's, or `expired` once its deadline has passed. */
function status() {
  if (!challenge) return 'pending';
  if (challenge.status === 'pending' && secondsUntil(challenge.expires_at) === 0) return 'expired';
  return challenge.status;
}

/** True while a pending challenge is on screen: a new one must not replace it. */
export function isBusy() {
  return Boolean(challenge) && !changed && ctxRef && ctxRef.current === 'prompt' && status() === 'pending';
}

// --- opening and events ------------------------------------------------------------

export async function open(id) {
  let c;
  try {
    c = await api.getChallenge(id);
  } catch (err) {
    if (err.kind === 'challenge_changed') {
      showChanged(id);
      return;
    }
    announce(errorText(err), true);
    return;
  }
  // A settings dialog left open must not sit over the prompt (closing = cancel).
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  challenge = c;
  changed = false;
  answered = null;
  sending = false;
  announced = new Set();
  byId('prompt-number').value = '';
  byId('prompt-error').hidden = true;
  ctxRef.go('prompt');
}

/**
 * Shows challenge `id` as changed: what was on screen stays (it is what was shown),
 * with the warning; a challenge not on screen shows the warning alone.
 */
function showChanged(id) {
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  if (!challenge || challenge.id !== id) {
    challenge = { id, status: 'pending', stub: true };
    answered = null;
  }
  changed = true;
  sending = false;
  ctxRef.pending = ctxRef.pending.filter((p) => p !== id);
  if (ctxRef.current === 'prompt') render();
  else ctxRef.go('prompt');
}

/** A `challenge-changed` event: the relay sent another copy of a shown challenge. */
export function onChanged({ id }) {
  if (challenge && challenge.id === id && !answered) showChanged(id);
}

/** A `challenge-status` event: the challenge left `pending` somewhere. */
export function onStatus({ id, status: s }) {
  if (!challenge || challenge.id !== id || answered) return;
  challenge = { ...challenge, status: s };
  if (ctxRef.current === 'prompt') render();
}

/** Re-renders the buttons after the queue of pending challenges changed. */
export function updateQueue() {
  if (ctxRef.current === 'prompt') renderAfter();
}

// --- screen hooks ---------------------------------------------------------------------

export function init(ctx) {
  ctxRef = ctx;
  const number = byId('prompt-number');
  number.addEventListener('input', () => {
    const digits = number.value.replace(/\D/g, '').slice(0, 2);
    if (digits !== number.value) number.value = digits;
    renderButtons();
  });
  number.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    // Without this the same Enter would also press whatever button gets the focus next.
    ev.preventDefault();
    if (!byId('prompt-approve').disabled) approve();
  });
  byId('prompt-approve').addEventListener('click', approve);
  byId('prompt-deny').addEventListener('click', () => deny(false));
  byId('prompt-notme').addEventListener('click', notMe);
  byId('prompt-back').addEventListener('click', () => ctx.go('home'));
  byId('prompt-done').addEventListener('click', () => ctx.go('home'));
  byId('prompt-next').addEventListener('click', () => {
    const next = nextPending();
    if (next) open(next);
  });
}

export function show() {
  render();
  startTimer();
}

export function hide() {
  clearTimeout(timer);
  timer = null;
}

// --- rendering ----------------------------------------------------------------------

export function render() {
  if (!challenge) return;
  const c = challenge;
  byId('prompt-changed').hidden = !changed;
  for (const id of ['prompt-who', 'prompt-details', 'prompt-badge']) byId(id).hidden = Boolean(c.stub);
  if (c.stub) {
    byId('prompt-title').textContent = t('prompt.changedTitle');
    byId('prompt-other-block').hidden = true;
    byId('prompt-marker-help').hidden = true;
    renderStatus();
    return;
  }
  const kind = kindClass(c.kind);
  const badge = byId('prompt-badge');
  badge.className = `badge badge-${kind}`;
  badge.textContent = kindLabel(c.kind);
  const context = c.context && typeof c.context === 'object' ? c.context : {};
  byId('prompt-title').textContent = kind === 'other' ? kindLabel(c.kind) : contextTitle(kind, context);
  byId('prompt-bank').textContent = contextText(c.tenant_name);
  byId('prompt-user').textContent = contextText(c.user_id);

  const details = byId('prompt-details');
  clear(details);
  addRow(details, t('prompt.time'), formatDateTime(c.created_at, locale()));
  const others = renderContext(details, byId('prompt-other'), kind, context);
  byId('prompt-other-block').hidden = others === 0;

  const suspicious = [c.tenant_name, c.user_id, ...Object.keys(context), ...Object.values(context)]
    .some((v) => hasHidden(typeof v === 'string' ? v : JSON.stringify(v)));
  byId('prompt-marker-help').hidden = !suspicious;

  renderStatus();
}

function addRow(dl, label, value, extraClass = '') {
  dl.append(el('div', { class: `row ${extraClass}` }, [
    el('dt', { text: label }),
    el('dd', { class: 'ctx', text: value }),
  ]));
}

function renderStatus() {
  const s = status();
  const pending = s === 'pending' && !changed;
  byId('prompt-number-block').hidden = !(challenge.number_matching && pending);
  byId('prompt-timeleft-block').hidden = !pending;
  const line = byId('prompt-status');
  let text = '';
  if (answered) text = t(answered === 'notMe' ? 'prompt.status.notMe' : `prompt.status.${answered}`);
  else if (s === 'approved' || s === 'denied') text = t('prompt.status.answered');
  else if (ENDED.includes(s)) text = t(`prompt.status.${s}`);
  else if (!pending) text = outcomeLabel(s);
  line.textContent = text;
  line.hidden = !text;
  line.className = `status status-${answered === 'approved' ? 'ok' : answered ? 'bad' : 'neutral'}`;
  byId('prompt-actions').hidden = changed;
  byId('prompt-notme').hidden = changed;
  renderTimeLeft();
  renderButtons();
  renderAfter();
}

function renderButtons() {
  const pending = challenge && status() === 'pending' && !answered && !changed;
  const numberOk = !challenge || !challenge.number_matching || /^\d{2}$/.test(byId('prompt-number').value);
  byId('prompt-approve').disabled = !pending || sending || !numberOk;
  byId('prompt-deny').disabled = !pending || sending;
  byId('prompt-notme').disabled = !pending || sending;
}

function nextPending() {
  return ctxRef.pending.find((id) => !challenge || id !== challenge.id);
}

function renderAfter() {
  const done = !challenge || status() !== 'pending' || Boolean(answered) || changed;
  byId('prompt-after').hidden = !done;
  byId('prompt-next').hidden = !(done && nextPending());
}

// --- time left ------------------------------------------------------------------------

function startTimer() {
  clearTimeout(timer);
  const step = () => {
    const before = status();
    renderTimeLeft();
    if (before === 'pending' && !answered && !changed) {
      timer = setTimeout(step, (Date.parse(challenge.expires_at) - Date.now()) % 1000 || 1000);
    }
  };
  step();
}

function renderTimeLeft() {
  if (!challenge || challenge.stub) return;
  const left = secondsUntil(challenge.expires_at);
  const total = Math.max(1, secondsUntil(challenge.expires_at, new Date(challenge.created_at).getTime()));
  byId('prompt-timeleft').textContent = t('prompt.timeLeft', { s: left });
  const fill = byId('prompt-timeleft-fill');
  fill.style.transform = `scaleX(${Math.min(1, left / total)})`;
  fill.classList.toggle('low', left <= 10);
  if (challenge.status === 'pending' && !answered) {
    for (const at of ANNOUNCE_AT) {
      if (left <= at && left > at - 5 && total > at && !announced.has(at)) {
        announced.add(at);
        announce(t('prompt.timeLeftAnnounce', { s: left }));
      }
    }
    if (left === 0 && !announced.has(0)) {
      announced.add(0);
      renderStatus(); // shows "expired" (role=status announces it) and disables the buttons
    }
  }
}

// --- answering ------------------------------------------------------------------------

function showError(message) {
  const e = byId('prompt-error');
  e.textContent = message;
  e.hidden = !message;
}

/** Sends a decision; on success shows the outcome and moves focus to what comes next. */
async function send(call, outcome) {
  sending = true;
  showError('');
  renderButtons();
  try {
    const res = await call();
    answered = outcome;
    challenge = { ...challenge, status: (res && res.status) || challenge.status };
    ctxRef.pending = ctxRef.pending.filter((id) => id !== challenge.id);
    sending = false;
    renderStatus();
    (nextPending() ? byId('prompt-next') : byId('prompt-done')).focus();
    return null;
  } catch (err) {
    sending = false;
    renderButtons();
    return err;
  }
}

/** After a failed answer, shows why and reloads the challenge to show where it stands. */
async function failed(err) {
  showError(errorText(err));
  if (err.kind === 'number_mismatch') {
    byId('prompt-number').value = '';
    renderButtons();
    byId('prompt-number').focus();
  }
  if (err.kind === 'challenge_changed') {
    showChanged(challenge.id);
    return;
  }
  if (NO_RELOAD.has(err.kind)) return;
  try {
    challenge = await api.getChallenge(challenge.id);
    render();
  } catch (again) {
    if (again.kind === 'challenge_changed') showChanged(challenge.id);
    /* otherwise keep what is shown */
  }
}

/** The check the backend runs before an approval: 'pin', 'biometric' or 'none'. */
function approvalCheck() {
  const state = ctxRef.state || {};
  if (['pin', 'biometric', 'none'].includes(state.approvalCheck)) return state.approvalCheck;
  return state.pinBeforeApprove ? 'pin' : 'none';
}

async function approve() {
  if (byId('prompt-approve').disabled) return;
  const id = challenge.id;
  const number = challenge.number_matching ? Number(byId('prompt-number').value) : undefined;
  const check = approvalCheck();
  if (check !== 'pin') {
    // Phones: the backend runs the system's biometric prompt itself; no PIN dialog.
    if (check === 'biometric') {
      const line = byId('prompt-status');
      line.textContent = t('prompt.biometric');
      line.className = 'status status-neutral';
      line.hidden = false;
    }
    const err = await send(() => api.approve(id, number), 'approved');
    if (err) {
      renderStatus();
      failed(err);
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
      const err = await send(() => api.approve(id, number, pin), 'approved');
      if (err && PIN_ERRORS.has(err.kind)) return errorText(err);
      other = err;
      return null;
    },
  });
  if (other) failed(other);
  else if (answered) (nextPending() ? byId('prompt-next') : byId('prompt-done')).focus();
}

async function deny(isNotMe) {
  if (byId('prompt-deny').disabled) return;
  const err = await send(() => api.deny(challenge.id, isNotMe), isNotMe ? 'notMe' : 'denied');
  if (err) failed(err);
}

async function notMe() {
  const yes = await confirm({
    title: t('prompt.notMeTitle'),
    body: t('prompt.notMeBody'),
    ok: t('prompt.notMeConfirm'),
  });
  if (yes && challenge && status() === 'pending') deny(true);
}
