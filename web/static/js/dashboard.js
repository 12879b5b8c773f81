// The operator dashboard. It signs in with an API key (scope admin), keeps
// it in sessionStorage only (gone when the tab closes) and sends it as
// "Authorization: Bearer". Views are switched by the URL hash.
import { api, ApiError, explain } from './api.js';
import { createUploader } from './uploader.js';
import { barChart, lineChart } from './charts.js';
import {
  el, $, setContent, showError, formatBytes, formatNumber, formatDate, relativeTime,
  copyButton, confirmDialog, toast, looksLikeCID, gatewayPath,
} from './util.js';

const KEY = 'ninja.apiKey';
const views = ['files', 'upload', 'keys', 'analytics', 'server'];
const PAGE = 25;

const auth = () => `Bearer ${sessionStorage.getItem(KEY) || ''}`;

// call is api() with the session's key; a rejected key signs out.
async function call(method, path, body) {
  try {
    return await api(auth(), method, path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut('The server no longer accepts this key. Sign in again.');
    throw err;
  }
}

// ---- Sign in ----------------------------------------------------------

async function signIn(key) {
  const status = await api(`Bearer ${key}`, 'GET', '/admin/status');
  sessionStorage.setItem(KEY, key);
  return status;
}

function signOut(msg) {
  sessionStorage.removeItem(KEY);
  showSignedIn(false);
  showError($('#signin-error'), msg || '');
}

function showSignedIn(on) {
  $('#signin').hidden = on;
  $('#tabs').hidden = !on;
  $('#signout').hidden = !on;
  if (!on) {
    for (const v of views) $(`#view-${v}`).hidden = true;
    $('#signin-key').value = '';
    $('#signin-key').focus();
  }
}

$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('#signin-key').value.trim();
  const btn = e.submitter;
  if (btn) btn.disabled = true;
  try {
    await signIn(key);
    showError($('#signin-error'), '');
    showSignedIn(true);
    route();
  } catch (err) {
    let msg = explain(err);
    if (err instanceof ApiError && err.status === 401) msg = 'That key was not accepted. Check it and try again.';
    if (err instanceof ApiError && err.status === 403) msg = 'That key works but lacks the admin scope the dashboard needs.';
    showError($('#signin-error'), msg);
  } finally {
    if (btn) btn.disabled = false;
  }
});

$('#signout').addEventListener('click', () => signOut(''));

// ---- Routing ----------------------------------------------------------

const loaded = new Set();

function route() {
  if (!sessionStorage.getItem(KEY)) return;
  let v = location.hash.slice(1);
  if (!views.includes(v)) v = 'files';
  for (const name of views) $(`#view-${name}`).hidden = name !== v;
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.getAttribute('href') === `#${v}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const loaders = { files: loadFiles, keys: loadKeysAndTokens, analytics: loadAnalytics, server: loadServer };
  // Files and keys are reloaded on every visit (uploads and tokens change
  // them); analytics and server on the first, then on demand.
  if (loaders[v] && (v === 'files' || v === 'keys' || !loaded.has(v))) {
    loaded.add(v);
    loaders[v]();
  }
}

window.addEventListener('hashchange', () => {
  route();
  $('#main').focus();
});

// ---- Files ------------------------------------------------------------

const files = { cursors: [''], page: 0, q: '' };

async function loadFiles() {
  const params = new URLSearchParams({ limit: String(PAGE) });
  const before = files.cursors[files.page];
  if (before) params.set('before', before);
  if (files.q) params.set(looksLikeCID(files.q) ? 'cid' : 'name', files.q);
  const tbody = $('#files-table tbody');
  try {
    const res = await call('GET', `/upload/list?${params}`);
    showError($('#files-error'), '');
    const rows = res.uploads || [];
    setContent(tbody, rows.map(fileRow));
    $('#files-empty').hidden = rows.length > 0;
    $('#files-empty').textContent = files.q ? 'No files match.' : 'No files yet. Upload some in the Upload tab.';
    $('#files-count').textContent = `${formatNumber(res.count)} ${res.count === 1 ? 'file' : 'files'}`;
    files.cursors[files.page + 1] = rows.length ? rows[rows.length - 1].created : '';
    $('#files-newer').disabled = files.page === 0;
    $('#files-older').disabled = rows.length < PAGE || files.page * PAGE + rows.length >= res.count;
  } catch (err) {
    showError($('#files-error'), `Could not load files: ${explain(err)}`);
  }
}

function fileRow(u) {
  const name = u.name || '(unnamed)';
  const unpin = el('button', {
    type: 'button', class: 'small danger',
    onclick: async () => {
      const ok = await confirmDialog(`Unpin ${name} (${u.cid})? Its data is removed at the next garbage collection unless something else pins it.`, 'Unpin');
      if (!ok) return;
      try {
        await call('DELETE', `/pins/${encodeURIComponent(u.cid)}`);
        toast(`Unpinned ${name}`);
        loadFiles();
      } catch (err) {
        showError($('#files-error'), `Could not unpin ${name}: ${explain(err)}`);
      }
    },
  }, 'Unpin');
  return el('tr', { 'data-cid': u.cid },
    el('td', { 'data-label': 'Name' }, name, u.description ? el('div', { class: 'muted' }, u.description) : null),
    el('td', { 'data-label': 'CID' }, el('span', { class: 'cid' }, u.cid)),
    el('td', { 'data-label': 'Size', class: 'num' }, formatBytes(u.size)),
    el('td', { 'data-label': 'Created', class: 'num' }, formatDate(u.created)),
    el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${u.status}` }, u.status)),
    el('td', {}, el('div', { class: 'row-actions' },
      copyButton(u.cid, 'Copy CID', 'CID copied'),
      el('a', { class: 'button small', href: gatewayPath(u.cid), target: '_blank', rel: 'noopener' }, 'Open'),
      unpin)));
}

$('#files-search').addEventListener('submit', (e) => {
  e.preventDefault();
  files.q = $('#files-q').value.trim();
  files.cursors = [''];
  files.page = 0;
  loadFiles();
});
$('#files-older').addEventListener('click', () => { files.page++; loadFiles(); });
$('#files-newer').addEventListener('click', () => { files.page = Math.max(0, files.page - 1); loadFiles(); });

// ---- Upload -----------------------------------------------------------

createUploader($('#dash-uploader'), { auth });

// ---- Keys and tokens --------------------------------------------------

function loadKeysAndTokens() {
  loadTokens();
  loadKeys();
}

const splitList = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

function secretBox(title, secret, extra) {
  return el('div', { class: 'secret', role: 'status' },
    el('strong', {}, title),
    el('code', {}, secret),
    copyButton(secret, 'Copy', 'Copied'),
    extra);
}

$('#token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { name: $('#tok-name').value.trim(), expiresIn: $('#tok-exp').value };
  const uses = $('#tok-uses').value;
  const size = $('#tok-size').value;
  if (uses) body.maxUploads = Number(uses);
  if (size) body.maxSizeMB = Number(size);
  for (const [id, field] of [['#tok-mime', 'allowedMimeTypes'], ['#tok-ips', 'ipWhitelist'], ['#tok-origins', 'allowedOrigins']]) {
    const list = splitList($(id).value);
    if (list.length) body[field] = list;
  }
  try {
    const t = await call('POST', '/upload-tokens', body);
    showError($('#token-error'), '');
    const link = `${location.origin}/upload?token=${encodeURIComponent(t.token)}`;
    const box = $('#token-created');
    setContent(box,
      secretBox('New token (shown once):', t.token),
      el('p', {}, 'Upload page for this token: ',
        el('a', { href: link, target: '_blank', rel: 'noopener', id: 'token-link' }, `/upload?token=${t.tokenPrefix || 'sup_'}…`),
        ' ', copyButton(link, 'Copy link', 'Link copied')),
      el('p', { class: 'hint' }, `Expires ${formatDate(t.expiresAt)}. Copy the token or the link now: only its prefix is kept.`));
    box.hidden = false;
    $('#token-form').reset();
    loadTokens();
  } catch (err) {
    showError($('#token-error'), `Could not create the token: ${explain(err)}`);
  }
});

async function loadTokens() {
  try {
    const list = (await call('GET', '/signed-tokens')) || [];
    list.sort((a, b) => (b.createdAt || 0) - (a.createdAt || 0));
    setContent($('#tokens-table tbody'), list.map(tokenRow));
    $('#tokens-empty').hidden = list.length > 0;
  } catch (err) {
    showError($('#token-error'), `Could not list tokens: ${explain(err)}`);
  }
}

function tokenRow(t) {
  const uses = t.maxUploads ? `${t.useCount} of ${t.maxUploads}` : `${t.useCount}`;
  const failures = Object.entries(t.failures || {}).map(([r, n]) => `${r} ×${n}`).join(', ');
  const revocable = t.status === 'active' || t.status === 'exhausted';
  const name = t.tokenName || t.tokenPrefix;
  return el('tr', { 'data-token-id': t.tokenId },
    el('td', { 'data-label': 'Name' }, name),
    el('td', { 'data-label': 'Prefix' }, el('code', {}, t.tokenPrefix)),
    el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${t.status}` }, t.status)),
    el('td', { 'data-label': 'Uses', class: 'num' }, uses, failures ? el('div', { class: 'muted' }, `failed: ${failures}`) : null),
    el('td', { 'data-label': 'Last used', class: 'num' }, t.lastUsedAt ? formatDate(t.lastUsedAt) : 'never'),
    el('td', { 'data-label': 'Expires', class: 'num' }, formatDate(t.expiresAt), t.status === 'active' ? el('div', { class: 'muted' }, relativeTime(t.expiresAt)) : null),
    el('td', { 'data-label': 'Uploaded', class: 'num' }, formatBytes(t.bytesUploaded || 0)),
    el('td', {}, revocable ? el('button', {
      type: 'button', class: 'small danger',
      onclick: async () => {
        if (!(await confirmDialog(`Revoke the token "${name}"? Uploads with it stop working at once.`, 'Revoke'))) return;
        try {
          await call('DELETE', `/signed-tokens/${encodeURIComponent(t.tokenId)}`);
          toast('Token revoked');
          loadTokens();
        } catch (err) {
          showError($('#token-error'), `Could not revoke: ${explain(err)}`);
        }
      },
    }, 'Revoke') : null));
}

$('#key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const scopes = [...document.querySelectorAll('#key-form input[name="scope"]:checked')].map((c) => c.value);
  if (scopes.length === 0) {
    showError($('#key-error'), 'Pick at least one scope.');
    return;
  }
  try {
    const k = await call('POST', '/admin/keys', { name: $('#key-name').value.trim(), scopes });
    showError($('#key-error'), '');
    const box = $('#key-created');
    setContent(box, secretBox('New API key (shown once):', k.key),
      el('p', { class: 'hint' }, 'Store it now, e.g. in your backend\'s secrets: only a hash is kept.'));
    box.hidden = false;
    $('#key-form').reset();
    loadKeys();
  } catch (err) {
    showError($('#key-error'), `Could not create the key: ${explain(err)}`);
  }
});

async function loadKeys() {
  try {
    const keys = (await call('GET', '/admin/keys')) || [];
    const mine = sessionStorage.getItem(KEY) || '';
    setContent($('#keys-table tbody'), keys.map((k) => {
      const self = k.prefix && mine.startsWith(k.prefix);
      return el('tr', { 'data-key-id': k.id },
        el('td', { 'data-label': 'Name' }, k.name, self ? el('div', { class: 'muted' }, '(this session)') : null),
        el('td', { 'data-label': 'Prefix' }, el('code', {}, k.prefix)),
        el('td', { 'data-label': 'Scopes' }, (k.scopes || []).join(', ')),
        el('td', { 'data-label': 'Created', class: 'num' }, formatDate(k.created)),
        el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${k.revoked ? 'revoked' : 'active'}` }, k.revoked ? 'revoked' : 'active')),
        el('td', {}, k.revoked ? null : el('button', {
          type: 'button', class: 'small danger',
          onclick: async () => {
            const warn = self ? ' This is the key you are signed in with: you will be signed out.' : '';
            if (!(await confirmDialog(`Revoke the API key "${k.name}" (${k.prefix}…)? Its upload tokens stop working too.${warn}`, 'Revoke'))) return;
            try {
              await call('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`);
              toast('Key revoked');
              if (self) signOut('You revoked the key of this session.');
              else loadKeys();
            } catch (err) {
              showError($('#key-error'), `Could not revoke: ${explain(err)}`);
            }
          },
        }, 'Revoke')));
    }));
  } catch (err) {
    showError($('#key-error'), `Could not list keys: ${explain(err)}`);
  }
}

// ---- Analytics --------------------------------------------------------

const isoDay = (d) => d.toISOString().slice(0, 10);
let lastAnalytics = null;

async function loadAnalyticsFilter() {
  const sel = $('#an-key');
  const current = sel.value;
  const opts = [el('option', { value: '' }, 'All keys and tokens')];
  try {
    const [keys, tokens] = await Promise.all([call('GET', '/admin/keys'), call('GET', '/signed-tokens').catch(() => [])]);
    for (const k of keys || []) opts.push(el('option', { value: k.prefix }, `Key: ${k.name} (${k.prefix}…)`));
    for (const t of tokens || []) opts.push(el('option', { value: t.tokenPrefix }, `Token: ${t.tokenName || t.tokenPrefix} (${t.tokenPrefix}…)`));
  } catch { /* the filter stays at "all" */ }
  setContent(sel, opts);
  sel.value = current;
}

async function loadAnalytics() {
  if (!$('#an-from').value) {
    const to = new Date();
    const from = new Date(to.getTime() - 29 * 86400e3);
    $('#an-from').value = isoDay(from);
    $('#an-to').value = isoDay(to);
    await loadAnalyticsFilter();
  }
  const params = new URLSearchParams({ from: $('#an-from').value, to: $('#an-to').value });
  if ($('#an-key').value) params.set('apiKey', $('#an-key').value);
  try {
    const res = await call('GET', `/analytics?${params}`);
    showError($('#an-error'), '');
    lastAnalytics = res;
    drawAnalytics(res);
  } catch (err) {
    showError($('#an-error'), `Could not load analytics: ${explain(err)}`);
  }
}

// days lists every date of the chosen range, so days without events show
// as zero instead of being skipped.
function days() {
  const out = [];
  const from = new Date(`${$('#an-from').value}T00:00:00Z`);
  const to = new Date(`${$('#an-to').value}T00:00:00Z`);
  for (let d = from; d <= to && out.length < 1000; d = new Date(d.getTime() + 86400e3)) out.push(isoDay(d));
  return out;
}

function drawAnalytics(res) {
  const t = res.totals || {};
  const stat = (label, value) => el('div', { class: 'stat' }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
  setContent($('#an-totals'),
    stat('Uploads', formatNumber(t.uploads)),
    stat('Bytes uploaded', formatBytes(t.bytesUploaded || 0)),
    stat('Storage', formatBytes(t.storageBytes || 0)),
    stat('Pins', formatNumber(t.pins)),
    stat('Gateway traffic', formatBytes(t.gatewayBytes || 0)),
    stat('Requests', formatNumber(t.requests)));

  const range = days();
  const label = (d) => d.slice(5);
  const daily = new Map((res.daily || []).map((d) => [d.date, d]));
  barChart($('#ch-uploads'), range.map((d) => ({ label: label(d), value: (daily.get(d) || {}).uploads || 0 })),
    { title: 'Uploads per day', format: (v) => formatNumber(Math.round(v)) });
  barChart($('#ch-gateway'), range.map((d) => ({ label: label(d), value: (daily.get(d) || {}).gatewayBytes || 0 })),
    { title: 'Gateway bytes served per day', format: formatBytes, alt: true, binary: true });
  // Storage is a running level: carry the last known value over days
  // without a point.
  const growth = new Map((res.storageGrowth || []).map((d) => [d.date, d.bytes]));
  let level = 0;
  for (const d of res.storageGrowth || []) if (d.date < range[0]) level = d.bytes;
  lineChart($('#ch-storage'), range.map((d) => {
    if (growth.has(d)) level = growth.get(d);
    return { label: label(d), value: level };
  }), { title: 'Storage used', format: formatBytes, binary: true });

  const types = Object.entries(t.fileTypes || {}).sort((a, b) => b[1] - a[1]);
  setContent($('#an-types tbody'), types.length
    ? types.map(([type, n]) => el('tr', {}, el('td', { 'data-label': 'Type' }, type), el('td', { 'data-label': 'Uploads' }, formatNumber(n))))
    : [el('tr', {}, el('td', { colspan: 2, class: 'muted' }, 'No uploads in this range.'))]);
}

$('#an-form').addEventListener('submit', (e) => { e.preventDefault(); loadAnalytics(); });

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (lastAnalytics && !$('#view-analytics').hidden) drawAnalytics(lastAnalytics); }, 150);
});

// ---- Server -----------------------------------------------------------

async function loadServer() {
  try {
    const s = await call('GET', '/admin/status');
    showError($('#server-error'), '');
    const row = (k, ...v) => [el('dt', {}, k), el('dd', {}, ...v)];
    const storage = s.storage || {};
    setContent($('#server-info'),
      row('Version', s.version || 'dev'),
      row('Peer ID', el('span', { class: 'cid', id: 'server-peer' }, s.peerId || '–'), ' ', s.peerId ? copyButton(s.peerId, 'Copy', 'Peer ID copied') : null),
      row('Connected peers', formatNumber(s.peers)),
      row('Pins', storage.pins !== undefined ? formatNumber(storage.pins) : '–'),
      row('Storage used', storage.bytes !== undefined ? formatBytes(storage.bytes) : '–'),
      row('Listen addresses', (s.addrs || []).length
        ? el('ul', { class: 'plain' }, (s.addrs || []).map((a) => el('li', { class: 'cid' }, a)))
        : 'none (offline)'));
  } catch (err) {
    showError($('#server-error'), `Could not load the status: ${explain(err)}`);
  }
}

// ---- Start ------------------------------------------------------------

if (sessionStorage.getItem(KEY)) {
  showSignedIn(true);
  route();
} else {
  showSignedIn(false);
}
