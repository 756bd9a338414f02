// context-view.js — how a challenge's context is shown: labelled rows for the
// fields its kind (and, for a transaction, its `type`) requires, in a fixed
// order; money formatted exactly (js/format.js, never through a float); counts
// and dates as such; every other field under "other", by its own name. All
// values are neutralised text. A transaction without `type` is a transfer
// (shared/src/transaction.rs); an unknown type shows its raw name and leaves
// every field under "other".

import { el, clear } from './dom.js';
import { STRINGS, t, locale } from './i18n.js';
import { contextText, formatAmount, neutralize } from './format.js';
import { CONTEXT_STRINGS } from './context-strings.js';

for (const lang of Object.keys(CONTEXT_STRINGS)) Object.assign(STRINGS[lang], CONTEXT_STRINGS[lang]);

// [field, label key, how to show it]. `money` fields carry the context's `currency`.
const LOGIN = [['ip', 'prompt.ip'], ['user_agent', 'prompt.browser'], ['location', 'prompt.location']];
const ADMIN = [['operation', 'prompt.operation'], ['target_user_id', 'prompt.target']];
const CURRENCY = ['currency', 'prompt.currency'];
const TYPES = {
  transfer: [['amount', 'prompt.amount', 'money'], CURRENCY, ['payee_name', 'prompt.payee'], ['payee_account', 'prompt.payeeAccount']],
  bulk_transfer: [['total', 'ctx.total', 'money'], CURRENCY, ['count', 'ctx.count', 'count'], ['batch_id', 'ctx.batchId']],
  payroll_transfer: [['total', 'ctx.total', 'money'], CURRENCY, ['count', 'ctx.count', 'count'], ['payment_date', 'ctx.paymentDate', 'date']],
  tax_payment: [['amount', 'prompt.amount', 'money'], CURRENCY, ['payee_institution_number', 'ctx.institution'],
    ['customer_number', 'ctx.customerNumber'], ['confirmation_number', 'ctx.confirmationNumber']],
  direct_debit: [['amount', 'prompt.amount', 'money'], CURRENCY, ['creditor', 'ctx.creditor'], ['debit_date', 'ctx.debitDate', 'date']],
  settings_change: [['setting', 'ctx.setting'], ['old_value', 'ctx.oldValue', 'maybeEmpty'], ['new_value', 'ctx.newValue', 'maybeEmpty']],
};

/** A transaction's type: its `type`, `transfer` without one, null when unknown. */
export function transactionType(context) {
  if (!('type' in context)) return 'transfer';
  return typeof context.type === 'string' && Object.hasOwn(TYPES, context.type) ? context.type : null;
}

/** The prompt's heading for a challenge of a known kind. */
export function contextTitle(kind, context) {
  if (kind !== 'transaction') return t(`prompt.title.${kind}`);
  const type = transactionType(context);
  return type ? t(`ctx.title.${type}`) : t('prompt.title.transaction');
}

function fieldsOf(kind, context) {
  if (kind === 'login') return LOGIN;
  if (kind === 'admin') return ADMIN;
  if (kind === 'transaction') return TYPES[transactionType(context)] || [];
  return [];
}

/** `2025-04-25` as a date with its weekday; the raw text when it is not one. */
export function formatDate(value, loc) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
  if (!m) return null;
  const [y, mo, d] = m.slice(1).map(Number);
  const at = new Date(Date.UTC(y, mo - 1, d));
  if (at.getUTCFullYear() !== y || at.getUTCMonth() !== mo - 1 || at.getUTCDate() !== d) return null;
  return new Intl.DateTimeFormat(loc, { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(at);
}

/** A positive integer count with thousands separators; null when it is not one. */
export function formatCount(value, loc) {
  if (!Number.isSafeInteger(value) || value < 1) return null;
  return t('ctx.countValue', { n: new Intl.NumberFormat(loc).format(value) });
}

/** One field's text: formatted when its shape allows, else the raw text. */
function valueText(key, how, context) {
  const value = context[key];
  if (value === undefined) return '';
  const loc = locale();
  let formatted = null;
  if (how === 'money') formatted = formatAmount(value, context.currency, loc);
  else if (how === 'date') formatted = formatDate(value, loc);
  else if (how === 'count') formatted = formatCount(value, loc);
  else if (how === 'maybeEmpty' && value === '') formatted = t('ctx.empty');
  return formatted === null ? contextText(value) : neutralize(formatted);
}

/**
 * The rows to show: `rows` [{label, value, cls}] in order (the transaction type
 * first), then `others` [[name, value]] sorted by name.
 */
export function contextRows(kind, context) {
  const rows = [];
  if (kind === 'transaction') {
    const type = transactionType(context);
    const shown = type ? t(`ctx.type.${type}`) : contextText(context.type);
    rows.push({ label: t('ctx.type'), value: shown, cls: 'txtype' });
  }
  const fields = fieldsOf(kind, context);
  for (const [key, label, how] of fields) {
    if (!(key in context)) continue;
    rows.push({ label: t(label), value: valueText(key, how, context), cls: how === 'money' ? 'amount' : '' });
  }
  const known = new Set(fields.map(([k]) => k));
  if (kind === 'transaction' && transactionType(context)) known.add('type');
  const others = Object.keys(context).filter((k) => !known.has(k)).sort()
    .map((k) => [neutralize(k), contextText(context[k])]);
  return { rows, others };
}

function addRow(dl, label, value, cls = '') {
  dl.append(el('div', { class: `row ${cls}`.trim() }, [
    el('dt', { text: label }),
    el('dd', { class: 'ctx', text: value }),
  ]));
}

/**
 * Fills `details` with the labelled rows (after whatever is already in it) and
 * `other` with the remaining fields; returns how many went under "other".
 */
export function renderContext(details, other, kind, context) {
  const { rows, others } = contextRows(kind, context);
  for (const r of rows) addRow(details, r.label, r.value, r.cls);
  clear(other);
  for (const [k, v] of others) addRow(other, k, v);
  return others.length;
}

/** One line for the history list: what was approved, in short. */
export function contextSummary(kind, context) {
  if (kind === 'login') return context.ip !== undefined ? contextText(context.ip) : '';
  if (kind === 'admin') {
    return context.operation !== undefined ? `${contextText(context.operation)} · ${contextText(context.target_user_id ?? '')}` : '';
  }
  if (kind !== 'transaction') return '';
  const type = transactionType(context);
  const money = (key) => valueText(key, 'money', context);
  switch (type) {
    case 'transfer':
      return [money('amount'), context.payee_name !== undefined ? contextText(context.payee_name) : null].filter(Boolean).join(' → ');
    case 'bulk_transfer':
    case 'payroll_transfer':
      return `${t(`ctx.type.${type}`)} · ${money('total')} · ${valueText('count', 'count', context)}`;
    case 'tax_payment':
      return `${t(`ctx.type.${type}`)} · ${money('amount')}`;
    case 'direct_debit':
      return `${t(`ctx.type.${type}`)} · ${money('amount')} → ${contextText(context.creditor ?? '')}`;
    case 'settings_change':
      return `${t(`ctx.type.${type}`)} · ${contextText(context.setting ?? '')}`;
    default:
      return contextText(context.type ?? '');
  }
}
