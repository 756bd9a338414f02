// push.js — phones: the notifications plugin (tauri-plugin-notifications) reports
// push events to JavaScript listeners only, so they are forwarded to the backend
// here (app/ui/COMMANDS.md, "Push"): a renewed token → `push_token`; a message
// while the app runs → `push_message` (the backend announces it like the event
// stream does); a tapped notification, also one that started the app → `push_opened`,
// and its prompt opens. The desktop backend answers `pluginEvents: false` and
// nothing is listened to.

import { api } from './backend.js';

const PLUGIN = 'notifications';

/**
 * The first string value of `key` in `value` or the objects in it (the plugin nests
 * the push data differently on Android and iOS), or undefined.
 */
export function find(value, key, depth = 0) {
  if (!value || typeof value !== 'object' || depth > 4) return undefined;
  if (typeof value[key] === 'string' && value[key]) return value[key];
  for (const v of Object.values(value)) {
    const hit = find(v, key, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

/** Starts forwarding when the backend says the plugin reports push events. */
export async function start(ctx) {
  let status;
  try {
    status = await api.pushStatus();
  } catch {
    return;
  }
  const core = window.__TAURI__ && window.__TAURI__.core;
  if (!status || !status.pluginEvents || !core || typeof core.addPluginListener !== 'function') return;

  const quietly = (p) => p.catch(() => {}); // the backend logs why
  const onMessage = (payload) => {
    const message = find(payload, 'onepush_message');
    if (message) quietly(api.pushMessage(message));
  };
  await core.addPluginListener(PLUGIN, 'push-token', (payload) => {
    const token = find(payload, 'token');
    if (token) quietly(api.pushToken(token));
  });
  await core.addPluginListener(PLUGIN, 'push-message', onMessage);
  // iOS in the foreground: the relay's alert itself, carrying the message.
  await core.addPluginListener(PLUGIN, 'notification', onMessage);
  await core.addPluginListener(PLUGIN, 'notificationClicked', async (payload) => {
    const message = find(payload, 'onepush_message');
    const challengeId = find(payload, 'challengeId');
    if (!message && !challengeId) return;
    let receipt;
    try {
      receipt = await api.pushOpened(message ? { message } : { challengeId });
    } catch {
      return;
    }
    if (receipt && receipt.id) {
      if (!ctx.pending.includes(receipt.id)) ctx.pending.push(receipt.id);
      ctx.openPrompt(receipt.id);
    }
  });
  // A tap that started the app is held by the plugin until this.
  quietly(core.invoke(`plugin:${PLUGIN}|set_click_listener_active`, { active: true }));
}
