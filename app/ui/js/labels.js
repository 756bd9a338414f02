// labels.js — display names for wire enums (challenge kind, binding state,
// outcome). Known values are translated; an unknown value from a newer backend
// is shown as its neutralised raw text rather than a missing-string key.

import { t } from './i18n.js';
import { neutralize } from './format.js';

const KINDS = ['login', 'transaction', 'admin'];
const STATES = ['active', 'suspended', 'unregistered', 'locked'];
const OUTCOMES = ['approved', 'denied', 'expired', 'cancelled', 'undeliverable', 'credential_mismatch', 'pending'];

/** 'login' → ログイン / Login. */
export function kindLabel(kind) {
  return KINDS.includes(kind) ? t(`kind.${kind}`) : neutralize(kind);
}

/** A CSS-safe class suffix for a kind ('other' when unknown). */
export function kindClass(kind) {
  return KINDS.includes(kind) ? kind : 'other';
}

/** Binding state → 利用中 / Active, ... */
export function stateLabel(state) {
  return STATES.includes(state) ? t(`state.${state}`) : neutralize(state);
}

export function stateClass(state) {
  return STATES.includes(state) ? state : 'other';
}

/** A history outcome: the status, or "denied (not me)". */
export function outcomeLabel(status, notMe) {
  if (status === 'denied' && notMe) return t('outcome.notMe');
  return OUTCOMES.includes(status) ? t(`outcome.${status}`) : neutralize(status);
}

export function outcomeClass(status) {
  if (status === 'approved') return 'ok';
  if (status === 'denied' || status === 'credential_mismatch') return 'bad';
  return 'neutral';
}
