// home.js — the Home screen: grouped credential ID, the current security code
// with its 30 s countdown (codes are fetched again from `codes` when it reaches
// 0), the next code for registration (R8), pending requests and accounts. A PC
// token (tokenKind `otp`) shows its kind and the codes only.

import { api } from './backend.js';
import { byId, el, clear, announce } from './dom.js';
import { t, locale } from './i18n.js';
import { contextText, groupCode, groupCredentialId, spellDigits, formatDateTime } from './format.js';
import { kindClass, kindLabel, stateClass, stateLabel } from './labels.js';

const PERIOD = 30;
let codes = null;
let deadline = 0;
let timer = null;
let visible = false;
let lastPending = [];

export function init(ctx) {
  byId('home-pending').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-id]');
    if (b) ctx.openPrompt(b.dataset.id);
  });
}

export function show(ctx) {
  visible = true;
  render(ctx);
  refreshCodes(false);
  loadAccounts();
}

export function hide() {
  visible = false;
  clearTimeout(timer);
  timer = null;
}

export function render(ctx) {
  byId('home-credential').textContent = groupCredentialId(ctx.state && ctx.state.credentialId);
  // The kind of token beside its ID: a PC token shows codes only (R11).
  const otp = Boolean(ctx.state && ctx.state.tokenKind === 'otp');
  byId('home-kind').textContent = t(otp ? 'home.kindOtp' : 'home.kindPush');
  byId('home-kind').className = `chip token-chip ${otp ? 'chip-otp' : 'chip-push'}`;
  byId('home-kind-help').hidden = !otp;
  if (codes) renderCodes();
  renderSeconds();
  renderPending(ctx, lastPending);
  if (accounts) renderAccounts();
}

// --- codes -------------------------------------------------------------------

async function refreshCodes(announceIt) {
  clearTimeout(timer);
  timer = null;
  try {
    const c = await api.codes();
    if (!visible) return;
    const changed = codes && codes.current !== c.current;
    codes = c;
    // secondsLeft counts whole seconds of the current step still to run (1–30).
    const left = Math.min(PERIOD, Math.max(1, Number(c.secondsLeft) || 1));
    deadline = Date.now() + left * 1000;
    renderCodes();
    if (announceIt && changed) announce(t('home.codeRefreshed'));
  } catch {
    deadline = Date.now() + 2000; // try again shortly
  }
  if (visible) tick();
}

function secondsLeft() {
  return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
}

function tick() {
  const left = secondsLeft();
  renderSeconds();
  if (left <= 0) {
    refreshCodes(true);
    return;
  }
  const ms = (deadline - Date.now()) % 1000 || 1000;
  timer = setTimeout(tick, ms);
}

function renderCodes() {
  byId('home-code').textContent = groupCode(codes.current);
  byId('home-code-sr').textContent = spellDigits(codes.current);
  byId('home-next').textContent = groupCode(codes.next);
  byId('home-next-sr').textContent = spellDigits(codes.next);
}

function renderSeconds() {
  const left = codes ? secondsLeft() : 0;
  byId('home-seconds').textContent = codes ? String(left) : '';
  byId('home-seconds-text').textContent = codes ? t('home.secondsLeft', { s: left }) : '';
  const ring = byId('home-ring');
  ring.setAttribute('stroke-dashoffset', String(100 - (left / PERIOD) * 100));
  ring.classList.toggle('ring-low', left <= 5);
}

// --- pending requests ----------------------------------------------------------

/** Lists pending challenges (DeviceChallenge[]) as buttons that open the prompt. */
export function renderPending(ctx, list) {
  lastPending = ctx.state && ctx.state.tokenKind === 'otp' ? [] : list || [];
  const ul = byId('home-pending');
  clear(ul);
  for (const c of lastPending) {
    ul.append(
      el('li', {}, [
        el('button', { type: 'button', class: 'list-button', dataset: { id: c.id } }, [
          el('span', { class: `badge badge-${kindClass(c.kind)} badge-small`, text: kindLabel(c.kind) }),
          el('span', { class: 'list-main ctx', text: `${contextText(c.tenant_name)} · ${contextText(c.user_id)}` }),
          el('span', { class: 'list-sub', text: formatDateTime(c.created_at, locale()) }),
        ]),
      ]),
    );
  }
  byId('home-pending-block').hidden = lastPending.length === 0;
}

// --- accounts ------------------------------------------------------------------

let accounts = null;

async function loadAccounts() {
  byId('home-accounts-error').hidden = true;
  try {
    accounts = await api.accounts();
    renderAccounts();
  } catch {
    byId('home-accounts-error').hidden = false;
  }
}

function renderAccounts() {
  const ul = byId('home-accounts');
  clear(ul);
  for (const a of accounts) {
    ul.append(
      el('li', { class: 'account' }, [
        el('div', { class: 'account-text' }, [
          el('span', { class: 'list-main ctx', text: contextText(a.tenant_name) }),
          el('span', { class: 'list-sub' }, [
            `${t('home.userId')}: `,
            el('span', { class: 'ctx', text: contextText(a.user_id) }),
          ]),
        ]),
        el('span', { class: `chip chip-${stateClass(a.state)}`, text: stateLabel(a.state) }),
      ]),
    );
  }
  byId('home-accounts-empty').hidden = accounts.length !== 0;
}
