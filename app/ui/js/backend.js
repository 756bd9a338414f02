// backend.js — the only module that talks to the Tauri backend.
//
// Commands go through `window.__TAURI__.core.invoke` and events through
// `window.__TAURI__.event.listen` (Tauri 2 with `app.withGlobalTauri: true`).
// The command contract (names, arguments, answers, errors, events) is written
// down in ../COMMANDS.md; the Rust side implements exactly that.

/** A failed command, carrying the contract's `{ kind, message }` error shape. */
export class BackendError extends Error {
  constructor(kind, message) {
    super(message || kind);
    this.name = 'BackendError';
    this.kind = kind;
  }
}

function tauri() {
  const t = window.__TAURI__;
  if (!t || !t.core || !t.event) {
    throw new BackendError('no_backend', 'window.__TAURI__ is missing (app.withGlobalTauri must be true)');
  }
  return t;
}

/** Normalises whatever a rejected invoke gives (object, string, Error) into a BackendError. */
function toError(err) {
  if (err instanceof BackendError) return err;
  if (err && typeof err === 'object' && typeof err.kind === 'string') {
    return new BackendError(err.kind, typeof err.message === 'string' ? err.message : '');
  }
  if (typeof err === 'string') return new BackendError('internal', err);
  return new BackendError('internal', err && err.message ? String(err.message) : 'unknown error');
}

/**
 * Calls a backend command. `args` keys are camelCase, as Tauri 2 maps them onto
 * the Rust command's snake_case parameters.
 */
export async function invoke(cmd, args = {}) {
  try {
    return await tauri().core.invoke(cmd, args);
  } catch (err) {
    throw toError(err);
  }
}

/** Subscribes to a backend event; `cb` gets the payload. Resolves to an unlisten function. */
export async function listen(event, cb) {
  return tauri().event.listen(event, (e) => cb(e ? e.payload : undefined));
}

/** The command names, so a typo fails loudly in one place. */
export const api = {
  getConfig: () => invoke('get_config'),
  /** Phones: the barcode-scanner plugin's camera scan (one QR code); `{ content }`. */
  scanQr: () => invoke('plugin:barcode-scanner|scan', { windowed: false, formats: ['QR_CODE'] }),
  getState: () => invoke('get_state'),
  setup: (relayUrl, pin, keyMode, tokenKind) =>
    invoke('setup', {
      relayUrl,
      ...(pin ? { pin } : {}),
      ...(keyMode ? { keyMode } : {}),
      ...(tokenKind && tokenKind !== 'push' ? { tokenKind } : {}),
    }),
  unlock: (pin) => invoke('unlock', { pin }),
  codes: () => invoke('codes'),
  accounts: () => invoke('accounts'),
  pending: () => invoke('pending'),
  getChallenge: (id) => invoke('get_challenge', { id }),
  approve: (id, number, pin) => {
    const args = { id };
    if (number !== undefined && number !== null) args.number = number;
    if (pin) args.pin = pin;
    return invoke('approve', args);
  },
  deny: (id, notMe) => invoke('deny', { id, notMe: Boolean(notMe) }),
  history: () => invoke('history'),
  offlineRead: (payload) => invoke('offline_read', { payload }),
  offlineCode: (id, pin) => invoke('offline_code', pin ? { id, pin } : { id }),
  setSettings: (changes) => invoke('set_settings', changes),
  reset: () => invoke('reset'),
  pushStatus: () => invoke('push_status'),
  pushToken: (token) => invoke('push_token', { token }),
  pushMessage: (message) => invoke('push_message', { message }),
  pushOpened: (tapped) => invoke('push_opened', tapped),
};
