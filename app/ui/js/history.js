// history.js — the History screen: challenges this device saw end, newest
// first, with kind, bank, user, a one-line summary, outcome and time.

import { api } from './backend.js';
import { byId, el, clear } from './dom.js';
import { locale } from './i18n.js';
import { contextText, formatDateTime } from './format.js';
import { contextSummary } from './context-view.js';
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

/** What the entry was about, in one line (js/context-view.js). */
function summary(e) {
  return contextSummary(e.kind, e.context || {});
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
