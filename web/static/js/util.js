// Small DOM and formatting helpers shared by the dashboard and the upload
// page. Everything that came from the server or the user goes into the DOM
// as text (textContent), never as markup.

// el builds an element: el('a', {href: '/x', class: 'b'}, 'text', child…).
// Attributes starting with "on" are event listeners.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
}

// setContent replaces a node's children.
export function setContent(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);

// showError fills an error paragraph, or hides it when msg is empty.
export function showError(node, msg) {
  node.textContent = msg || '';
  node.hidden = !msg;
}

const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

// formatBytes uses binary units named as the API names them: 1 MB is
// 1,048,576 bytes, as in sizeMB and maxSizeMB.
export function formatBytes(n) {
  if (n === undefined || n === null || Number.isNaN(Number(n))) return '–';
  n = Number(n);
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  const digits = i === 0 || n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${units[i]}`;
}

export function formatNumber(n) {
  return Number(n || 0).toLocaleString();
}

// formatDate takes an RFC 3339 string or unix milliseconds.
export function formatDate(v) {
  if (v === undefined || v === null || v === '' || v === 0) return '–';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// relativeTime says "in 59 min" / "3 h ago".
export function relativeTime(ms, now = Date.now()) {
  const diff = ms - now;
  const abs = Math.abs(diff);
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
  const steps = [[60e3, 1e3, 'second'], [3600e3, 60e3, 'minute'], [86400e3, 3600e3, 'hour'], [Infinity, 86400e3, 'day']];
  for (const [limit, unit, name] of steps) {
    if (abs < limit) return fmt.format(Math.round(diff / unit), name);
  }
  return '';
}

// copyText copies to the clipboard and says so.
export async function copyText(text, what = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} to the clipboard`);
  } catch {
    // No clipboard permission (or not a secure context): let the user copy.
    window.prompt('Copy this:', text);
  }
}

export function copyButton(text, label = 'Copy', what = 'Copied') {
  return el('button', { type: 'button', class: 'small', onclick: () => copyText(text, what) }, label);
}

let toastTimer;
export function toast(msg) {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2500);
}

// confirmDialog asks in the page's <dialog id="confirm"> and resolves to
// true only when the user picks the confirm button. items, when given, are
// listed under the question (what a bulk action touches).
export function confirmDialog(message, okLabel = 'Confirm', items = []) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-msg').textContent = message;
  const list = document.getElementById('confirm-list');
  if (list) {
    const shown = items.slice(0, 8).map((t) => el('li', {}, t));
    if (items.length > 8) shown.push(el('li', { class: 'muted' }, `and ${items.length - 8} more`));
    setContent(list, shown);
    list.hidden = items.length === 0;
  }
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  ok.textContent = okLabel;
  // Settled by the buttons (or Esc) themselves, not by the dialog's close
  // event: that event is dispatched later, and one from the previous
  // question could otherwise answer this one.
  return new Promise((resolve) => {
    const finish = (v) => {
      ok.removeEventListener('click', onOK);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onOK = () => finish(true);
    const onCancel = () => finish(false);
    ok.addEventListener('click', onOK);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
  });
}

// looksLikeCID tells a CID (v0 base58 or v1 base32) from a name to search.
export function looksLikeCID(s) {
  return /^Qm[1-9A-HJ-NP-Za-km-z]{44}$/.test(s) || /^b[a-z2-7]{50,}$/.test(s);
}

// gatewayPath is the same-origin gateway link of a CID.
export function gatewayPath(cid, sub = '') {
  return `/ipfs/${encodeURIComponent(cid)}${sub ? '/' + sub.split('/').map(encodeURIComponent).join('/') : ''}`;
}

export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// td is a table cell with the label the card layout (narrow screens) shows.
export function td(label, attrs, ...children) {
  return el('td', { 'data-label': label, ...attrs }, ...children);
}

// splitList reads a comma, space or newline separated list.
export const splitList = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

// secretBox shows a secret once, with a copy button.
export function secretBox(title, secret, ...extra) {
  return el('div', { class: 'secret', role: 'status' },
    el('strong', {}, title),
    el('code', {}, secret),
    copyButton(secret, 'Copy', 'Copied'),
    ...extra);
}

// pager wires a "More" button to a cursor-paged list: load(cursor) returns
// {items, next}; render(items, append) draws them.
export function pager(button, load, render) {
  let next = '';
  const fetchPage = async (append) => {
    const page = await load(append ? next : '');
    next = page.next;
    button.hidden = !next;
    render(page.items, append);
    return page;
  };
  button.addEventListener('click', () => fetchPage(true));
  return { reload: () => fetchPage(false) };
}
