// dom.js — small DOM helpers. Text only ever goes in through textContent:
// nothing here (or anywhere in the UI) assigns innerHTML.

/** The element with this id (throws if missing, so a typo fails loudly). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

/**
 * Creates an element. `attrs`: `class`, `text` (textContent), `dataset`
 * object, `on<event>` functions, anything else as an attribute.
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of [].concat(children)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Removes every child. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

/** Says something to screen readers through the page's polite live region. */
export function announce(message, assertive = false) {
  const region = byId(assertive ? 'live-assertive' : 'live-polite');
  // Clearing first makes repeated identical messages be read again.
  region.textContent = '';
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}
