// app.js — start-up, screen switching and backend events. Holds the app state
// (`get_state`) and the queue of pending challenges, and hands each screen a
// small context object; the screens live in their own modules.

import { api, listen } from './backend.js';
import * as i18n from './i18n.js';
import { byId } from './dom.js';
import * as setup from './setup.js';
import * as unlock from './unlock.js';
import * as home from './home.js';
import * as prompt from './prompt.js';
import * as history from './history.js';
import * as settings from './settings.js';
import * as push from './push.js';
import * as offline from './offline.js';

const SCREENS = { setup, unlock, home, prompt, history, settings, offline };
const NAV_SCREENS = ['home', 'history', 'settings'];

const ctx = {
  state: null,
  /** Ids of pending challenges, oldest first. */
  pending: [],
  current: null,
  go,
  setState,
  refreshPending,
  openPrompt: (id) => prompt.open(id),
};

/** Shows one screen, hides the others, moves focus to its heading. */
function go(name, { focus = true } = {}) {
  const previous = ctx.current;
  ctx.current = name;
  byId('screen-loading').hidden = true;
  for (const [key, mod] of Object.entries(SCREENS)) {
    const section = byId(`screen-${key}`);
    const visible = key === name;
    if (!visible && !section.hidden && mod.hide) mod.hide();
    section.hidden = !visible;
  }
  const nav = byId('nav');
  nav.hidden = !NAV_SCREENS.includes(name);
  for (const b of nav.querySelectorAll('.nav-item')) {
    if (b.dataset.screen === name) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (SCREENS[name].show) SCREENS[name].show(ctx, previous);
  if (focus) {
    const heading = byId(`screen-${name}`).querySelector('h1');
    if (heading) heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

/** Stores a new `get_state` answer and keeps the language in step with it. */
function setState(state) {
  ctx.state = state;
  const lang = state && state.language;
  if ((lang === 'ja' || lang === 'en' || lang === 'system') && lang !== i18n.savedChoice()) {
    i18n.choose(lang);
  }
}

/** Pulls pending challenges; opens the oldest when asked and no prompt is busy. */
/** Whether this device answers approval requests (a PC token shows codes only). */
function approves() {
  return Boolean(ctx.state && ctx.state.setUp && !ctx.state.locked && ctx.state.tokenKind !== 'otp');
}

async function refreshPending({ open = false } = {}) {
  if (!approves()) return;
  let list;
  try {
    list = await api.pending();
  } catch {
    return; // offline: the event stream or the next focus will bring them
  }
  ctx.pending = list.map((c) => c.id);
  home.renderPending(ctx, list);
  if (open && list.length && !prompt.isBusy()) prompt.open(list[0].id);
}

function onChallenge(payload) {
  if (!payload || !payload.id || !approves()) return;
  if (!ctx.pending.includes(payload.id)) ctx.pending.push(payload.id);
  if (prompt.isBusy()) {
    prompt.updateQueue(ctx);
  } else {
    prompt.open(payload.id);
  }
  refreshPending();
}

function onStatus(payload) {
  if (!payload || !payload.id) return;
  if (payload.status !== 'pending') ctx.pending = ctx.pending.filter((id) => id !== payload.id);
  prompt.onStatus(payload);
  refreshPending();
}

async function start() {
  i18n.setLanguage(i18n.resolveChoice(i18n.savedChoice()));
  i18n.onLanguageChange(() => {
    const mod = SCREENS[ctx.current];
    if (mod && mod.render) mod.render(ctx);
  });
  for (const b of byId('nav').querySelectorAll('.nav-item')) {
    b.addEventListener('click', () => go(b.dataset.screen));
  }
  for (const mod of Object.values(SCREENS)) if (mod.init) mod.init(ctx);

  // Listen before asking for anything, so no challenge slips between the two.
  await listen('challenge', onChallenge);
  await listen('challenge-status', onStatus);
  await listen('challenge-changed', (payload) => payload && payload.id && prompt.onChanged(payload));

  setState(await api.getState());
  if (ctx.state.locked) {
    go('unlock');
    return;
  }
  if (!ctx.state.setUp) {
    go('setup');
    await push.start(ctx);
    return;
  }
  go('home');
  await refreshPending({ open: true });
  await push.start(ctx);
}

// Pending challenges are pulled again whenever the app comes back to the front.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refreshPending({ open: true });
});
window.addEventListener('focus', () => refreshPending({ open: true }));

start().catch((err) => {
  // The one place an unexpected start-up failure becomes visible.
  const p = byId('screen-loading').querySelector('p');
  p.textContent = i18n.t('err.generic', { m: err && err.message ? err.message : String(err) });
  p.setAttribute('role', 'alert');
});
