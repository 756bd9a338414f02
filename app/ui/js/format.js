// format.js — turning backend values into text a person can trust: neutralised
// bidi/invisible characters, grouped credential IDs and codes, exact money
// amounts, dates. Pure functions (no DOM), so they are testable in node too.

// Characters that can reorder or hide text: bidi embeddings/overrides
// (U+202A–202E), isolates (U+2066–2069), marks (U+200E, U+200F, U+061C), plus
// other invisible or layout-breaking ones: C0/C1 controls, zero-width
// characters, line/paragraph separators, the BOM and interlinear annotations.
// Each is replaced by a visible ⟪U+XXXX⟫ marker.
// eslint-disable-next-line no-control-regex
const HIDDEN = /[\u0000-\u001F\u007F-\u009F\u061C\u115F\u1160\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2069\u3164\uFEFF\uFFF9-\uFFFB]/g;

/** Replaces every hidden/bidi control with a visible marker like ⟪U+202E⟫. */
export function neutralize(value) {
  return String(value).replace(HIDDEN, (ch) => `⟪U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟫`);
}

/** Whether neutralize() would change the text. */
export function hasHidden(value) {
  HIDDEN.lastIndex = 0;
  const found = HIDDEN.test(String(value));
  HIDDEN.lastIndex = 0;
  return found;
}

/** A context value as text: strings as they are, anything else as JSON; then neutralised. */
export function contextText(value) {
  return neutralize(typeof value === 'string' ? value : JSON.stringify(value));
}

/** `ONEP12345678` (any spacing or case) → `ONEP 1234 5678`; anything else unchanged. */
export function groupCredentialId(id) {
  const compact = String(id || '').replace(/[\s-]/g, '').toUpperCase();
  const m = /^([A-Z]{4})(\d{4})(\d{4})$/.exec(compact);
  return m ? `${m[1]} ${m[2]} ${m[3]}` : String(id || '');
}

/** `123456` → `123 456` for reading; other shapes unchanged. */
export function groupCode(code) {
  const s = String(code || '');
  return /^\d{6}$/.test(s) ? `${s.slice(0, 3)} ${s.slice(3)}` : s;
}

/** `123456` → `1 2 3 4 5 6` so screen readers read digits, not a number. */
export function spellDigits(code) {
  return String(code || '').split('').join(' ');
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Formats a decimal-string amount in its currency without ever going through a
 * float: the integer part is a BigInt, the fraction digits are copied as given
 * (padded to the currency's usual digits, never rounded). Returns null when the
 * amount or currency cannot be formatted; the caller then shows the raw text.
 */
export function formatAmount(amount, currency, loc) {
  const m = DECIMAL.exec(String(amount));
  if (!m || !/^[A-Za-z]{3}$/.test(String(currency))) return null;
  const [, minus, intDigits, given = ''] = m;
  try {
    const usual = new Intl.NumberFormat(loc, { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits;
    const fraction = given.padEnd(usual, '0');
    if (fraction.length > 20) return null;
    const nf = new Intl.NumberFormat(loc, {
      style: 'currency',
      currency,
      minimumFractionDigits: fraction.length,
      maximumFractionDigits: fraction.length,
    });
    const abs = BigInt(intDigits);
    const negative = minus === '-' && (abs !== 0n || /[1-9]/.test(given));
    // -0n does not exist: format -1 and put the zero back.
    const parts = nf.formatToParts(negative ? (abs === 0n ? -1n : -abs) : abs);
    return parts
      .map((p) => {
        if (p.type === 'fraction') return fraction;
        if (p.type === 'integer' && negative && abs === 0n) return '0';
        return p.value;
      })
      .join('');
  } catch {
    return null;
  }
}

/** An RFC 3339 time as a local date and time with seconds; raw text if unparsable. */
export function formatDateTime(iso, loc) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return neutralize(iso || '');
  return new Intl.DateTimeFormat(loc, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(d);
}

/** Whole seconds from now until an RFC 3339 deadline (never negative). */
export function secondsUntil(iso, nowMs = Date.now()) {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return 0;
  return Math.max(0, Math.ceil((t - nowMs) / 1000));
}
