// errors.js — turns a backend error `{ kind, message }` into a sentence in the
// current language (known kinds are translated; others show their message).

import { t } from './i18n.js';
import { neutralize } from './format.js';

const KNOWN = new Set([
  'relay_unreachable',
  'pin_invalid',
  'pin_locked',
  'pin_required',
  'number_mismatch',
  'number_required',
  'challenge_decided',
  'challenge_expired',
  'not_found',
  'invalid_input',
  'rate_limited',
  'challenge_changed',
  'challenge_not_shown',
  'biometric_failed',
  'locked',
]);

export function errorText(err) {
  const kind = err && err.kind;
  if (KNOWN.has(kind)) return t(`err.${kind}`);
  return t('err.generic', { m: neutralize((err && err.message) || kind || '?') });
}
