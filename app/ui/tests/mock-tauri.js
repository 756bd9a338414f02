// mock-tauri.js — a stand-in for `window.__TAURI__`, injected before the app's
// own scripts with page.addInitScript(mockTauri, config). It records every
// invoke in `window.__mock.calls`, answers from `config.responses`, and lets a
// test emit backend events with `window.__mock.emit(event, payload)`.
//
// A response may be: a plain value; `{ __error: { kind, message } }` (the
// command fails); `{ __seq: [a, b, ...] }` (answered in turn, the last one
// repeats); `{ __decide: status }` (answers `{ id: args.id, status }`).
// `get_challenge` answers from `config.responses.challenges[id]`.
// Plugin listeners (`core.addPluginListener`, as the notifications plugin's events
// reach the UI on phones) are fired with `window.__mock.emitPlugin(plugin, event, payload)`.
// `{ __settings: true }` (for set_settings, setup, reset) acts like a backend
// that keeps its state: the args are merged into the `get_state` answer, kept
// in sessionStorage so a reload sees them, and the new state is returned.
// This function is serialised into the page: it must not use outer variables.

export function mockTauri(config) {
  const calls = [];
  const listeners = {};
  let nextListener = 1;
  const responses = config.responses || {};
  const copy = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

  const STORE = '__mockState';
  const state = () => JSON.parse(sessionStorage.getItem(STORE) || 'null') || responses.get_state;
  const keep = (v) => sessionStorage.setItem(STORE, JSON.stringify(v));

  function answer(cmd, args) {
    let r = cmd === 'get_state' ? state() : responses[cmd];
    if (cmd === 'get_challenge') {
      const c = (responses.challenges || {})[args.id];
      r = c || { __error: { kind: 'not_found', message: `no challenge ${args.id}` } };
    }
    if (r && Array.isArray(r.__seq)) r = r.__seq.length > 1 ? r.__seq.shift() : r.__seq[0];
    if (r && r.__error) throw copy(r.__error);
    if (r && r.__decide) return { id: args.id, status: r.__decide };
    if (r && r.__settings) {
      const { pin, currentPin, ...rest } = args;
      const next = { ...state(), ...rest, ...(r.__settings === true ? {} : r.__settings) };
      if (pin) next.pinSet = true;
      if (pin && cmd === 'setup') next.pinBeforeApprove = true;
      keep(next);
      return copy(next);
    }
    if (r === undefined) throw { kind: 'internal', message: `mock has no response for ${cmd}` };
    return copy(r);
  }

  window.__mock = {
    calls,
    responses,
    /** Calls of one command, in order. */
    callsOf: (cmd) => calls.filter((c) => c.cmd === cmd),
    emit(event, payload) {
      for (const [id, cb] of Object.entries(listeners[event] || {})) {
        cb({ event, id: Number(id), payload: copy(payload) });
      }
    },
    listening: (event) => Object.keys(listeners[event] || {}).length,
    emitPlugin(plugin, event, payload) {
      for (const cb of Object.values(listeners[`plugin:${plugin}|${event}`] || {})) cb(copy(payload));
    },
  };

  window.__TAURI__ = {
    core: {
      async invoke(cmd, args) {
        calls.push({ cmd, args: copy(args || {}) });
        await Promise.resolve();
        return answer(cmd, args || {});
      },
      async addPluginListener(plugin, event, cb) {
        const key = `plugin:${plugin}|${event}`;
        const id = nextListener++;
        (listeners[key] ||= {})[id] = cb;
        calls.push({ cmd: 'addPluginListener', args: { plugin, event } });
        return { unregister: async () => delete listeners[key][id] };
      },
    },
    event: {
      async listen(event, cb) {
        const id = nextListener++;
        (listeners[event] ||= {})[id] = cb;
        return () => delete listeners[event][id];
      },
    },
  };
}
