// history.js — the History screen: challenges this device saw end, newest
// first, with kind, bank, user, a one-line summary, outcome and time.

import { api } from './backend.js';
import { byId, el, clear } from './dom.js';
import { t, locale } from './i18n.js';
import { contextText, formatAmount, formatDateTime, neutralize } from './format.js';
import { kindClass, kindLabel, outcomeClass, outcomeLabel } from './labels.js';
import { errorText } from './errors.js';

let entries = [];

export async function show() {
  byId('history-error').hidden = true;
  try {
    entries = await api.history();
  } catch (err) {
    entries = [];
    byId('history-error').textContent = errorText(err);
    byId('history-error').hidden = false;
  }
  render();
}

/** What the entry was about, in one line: amount and payee, IP, or operation. */
function summary(e) {
  const c = e.context || {};
  if (e.kind === 'transaction') {
    const amount = formatAmount(c.amount, c.currency, locale());
    const parts = [amount === null ? contextText(c.amount ?? '') : neutralize(amount)];
    if (c.payee_name !== undefined) parts.push(contextText(c.payee_name));
    return parts.join(' → ');
  }
  if (e.kind === 'login' && c.ip !== undefined) return contextText(c.ip);
  if (e.kind === 'admin' && c.operation !== undefined) {
    return `${contextText(c.operation)} · ${contextText(c.target_user_id ?? '')}`;
  }
  return '';
}

export function render() {
  const ul = byId('history-list');
  clear(ul);
  for (const e of entries) {
    const line = summary(e);
    ul.append(
      el('li', { class: 'history-item' }, [
        el('div', { class: 'history-head' }, [
          el('span', { class: `badge badge-${kindClass(e.kind)} badge-small`, text: kindLabel(e.kind) }),
          el('span', { class: `chip chip-${outcomeClass(e.status)}`, text: outcomeLabel(e.status, e.notMe) }),
        ]),
        el('span', { class: 'list-main ctx', text: `${contextText(e.tenantName)} · ${contextText(e.userId)}` }),
        line ? el('span', { class: 'list-sub ctx', text: line }) : null,
        el('time', { class: 'list-sub', datetime: e.answeredAt, text: formatDateTime(e.answeredAt, locale()) }),
      ]),
    );
  }
  byId('history-empty').hidden = entries.length !== 0 || !byId('history-error').hidden;
}
