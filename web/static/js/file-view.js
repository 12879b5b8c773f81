// One file's page (#file/{id}): its record (GET /uploads/{id}), a preview
// from the gateway, the account's other pins of the same CID, and editing
// its name, description and metadata (PATCH /uploads/{id}); its groups
// (groups.js) and the IPNS names pointing at it, with publishing its CID
// to one (names.js).
import { call, can, explain, session } from './session.js';
import { unpinRecords } from './files.js';
import { loadFileGroups } from './groups.js';
import { loadFileNames } from './names.js';
import { el, $, $$, setContent, showError, formatBytes, formatDate, copyButton, gatewayPath } from './util.js';

// Previews load from this server's gateway as separate resources (img,
// video, audio, a sandboxed iframe): the bytes never enter this page's
// DOM, and the gateway sandboxes what it serves. Text and PDF frames load
// the whole file, so they stop at a size a browser shows without strain.
const FRAME_LIMIT = 8 << 20;

let current = null;

export async function loadFile(id) {
  current = null;
  $('#file-detail').hidden = true;
  showError($('#file-error'), '');
  $('#file-saved').hidden = true;
  try {
    current = await call('GET', `/uploads/${encodeURIComponent(id)}`);
  } catch (err) {
    $('#file-h').textContent = 'File';
    showError($('#file-error'), `Could not load this file: ${explain(err)}`);
    return;
  }
  render(current);
  loadOthers(current);
  loadFileGroups(current);
  if (can('names')) loadFileNames(current);
}

// subdomainRow links the file to its own origin on the subdomain gateway,
// when the server has one: {cid}.ipfs.{domain} for a CIDv1 in base32, and
// for any other form the domain's /ipfs/ path, which the gateway
// redirects to that origin (converting a CIDv0).
function subdomainRow(row, cid) {
  const base = session.who && session.who.subdomainGateway;
  if (!base) return null;
  const u = new URL(base);
  const href = /^b[a-z2-7]+$/.test(cid) && cid.length <= 63
    ? `${u.protocol}//${cid}.ipfs.${u.host}/`
    : `${base}/ipfs/${encodeURIComponent(cid)}`;
  return row('Subdomain', el('a', { href, target: '_blank', rel: 'noopener', id: 'file-subdomain' }, href));
}

function render(u) {
  $('#file-h').textContent = u.name || '(unnamed)';
  const link = gatewayPath(u.cid);
  const row = (k, ...v) => [el('dt', {}, k), el('dd', {}, ...v)];
  setContent($('#file-info'),
    row('CID', el('span', { class: 'cid', id: 'file-cid' }, u.cid), ' ', copyButton(u.cid, 'Copy', 'CID copied')),
    row('Status', el('span', { class: `badge ${u.status}` }, u.status)),
    row('Size', el('span', { id: 'file-size' }, formatBytes(u.size)), u.size ? el('span', { class: 'muted' }, ` (${u.size.toLocaleString()} bytes)`) : null),
    row('DAG size', el('span', { id: 'file-dag' }, u.dagSize ? `${formatBytes(u.dagSize)} (${u.dagSize.toLocaleString()} bytes, blocks included)` : '–')),
    row('Type', u.mimeType || '–'),
    row('Created', formatDate(u.created)),
    row('Uploaded with', u.API_KEY_PREFIX ? el('code', {}, u.API_KEY_PREFIX) : '–'),
    row('Gateway', el('a', { href: link, target: '_blank', rel: 'noopener', id: 'file-gateway' }, (u.uris && u.uris.url) || link)),
    subdomainRow(row, u.cid),
    row('IPFS URI', el('code', { class: 'cid' }, `ipfs://${u.cid}`)));
  $('#file-name').value = u.name || '';
  $('#file-desc').value = u.description || '';
  setContent($('#file-meta'), Object.entries(u.metadata || {}).map(([k, v]) => metaRow(k, v)));
  const writable = can('pins:write');
  for (const f of $$('#file-form input, #file-form textarea')) f.readOnly = !writable;
  $('#file-meta-add').hidden = !writable;
  for (const b of $$('#file-meta .meta-remove')) b.hidden = !writable;
  preview(u);
  $('#file-detail').hidden = false;
}

let metaSeq = 0;

function metaRow(k = '', v = '') {
  const n = ++metaSeq;
  const row = el('div', { class: 'meta-row' },
    el('label', { for: `meta-k${n}`, class: 'sr-only' }, 'Key'),
    el('input', { id: `meta-k${n}`, type: 'text', class: 'meta-key', value: k, placeholder: 'key', maxlength: 128 }),
    el('label', { for: `meta-v${n}`, class: 'sr-only' }, 'Value'),
    el('input', { id: `meta-v${n}`, type: 'text', class: 'meta-value', value: v, placeholder: 'value', maxlength: 2048 }),
    el('button', { type: 'button', class: 'small meta-remove', 'aria-label': `Remove the field ${k || 'new'}`, onclick: () => row.remove() }, 'Remove'));
  return row;
}

function preview(u) {
  const box = $('#file-preview');
  const src = gatewayPath(u.cid);
  const type = u.mimeType || '';
  const size = u.size || u.dagSize || 0;
  const label = `Preview of ${u.name || u.cid}`;
  let node;
  if (type.startsWith('image/')) {
    node = el('img', { src, alt: label, loading: 'lazy' });
  } else if (type.startsWith('video/')) {
    node = el('video', { src, controls: true, preload: 'metadata', 'aria-label': label });
  } else if (type.startsWith('audio/')) {
    node = el('audio', { src, controls: true, preload: 'metadata', 'aria-label': label });
  } else if (/^text\/|^application\/(json|pdf|xml)|^inode\/directory$/.test(type)) {
    const pdf = type === 'application/pdf';
    node = size > FRAME_LIMIT && type !== 'inode/directory'
      ? el('p', { class: 'muted' }, `Too large to preview here (${formatBytes(size)}). `, el('a', { href: src, target: '_blank', rel: 'noopener' }, 'Open it in the gateway.'))
      // An empty sandbox: no scripts, no forms, an opaque origin. Chromium
      // refuses to show a PDF in a frame with a sandbox attribute ("blocked
      // by Chromium"), so a PDF's frame has none; the gateway's own CSP
      // sandbox (without allow-same-origin) still puts the document in an
      // opaque origin that cannot reach this page or its credential.
      : el('iframe', { src, sandbox: pdf ? null : '', title: label, loading: 'lazy', referrerpolicy: 'no-referrer', class: pdf ? 'pdf' : '' });
  } else {
    node = el('p', { class: 'muted' }, `No preview for ${type || 'this type'}. `, el('a', { href: src, target: '_blank', rel: 'noopener' }, 'Open it in the gateway.'));
  }
  box.dataset.kind = node.tagName.toLowerCase();
  setContent(box, node);
}

async function loadOthers(u) {
  const list = $('#file-others');
  try {
    const res = await call('GET', '/upload/list', { query: { cid: u.cid, limit: 100 } });
    const others = (res.uploads || []).filter((o) => o.id !== u.id);
    setContent(list, others.length
      ? others.map((o) => el('li', {}, el('a', { href: `#file/${encodeURIComponent(o.id)}` }, o.name || '(unnamed)'),
        ' ', el('span', { class: `badge ${o.status}` }, o.status), el('span', { class: 'muted' }, ` ${formatDate(o.created)}`)))
      : [el('li', { class: 'muted' }, 'None: this is the only pin of this CID in this account.')]);
  } catch (err) {
    setContent(list, el('li', { class: 'error' }, explain(err)));
  }
}

function readMetadata() {
  const out = {};
  for (const row of $$('#file-meta .meta-row')) {
    const k = row.querySelector('.meta-key').value.trim();
    if (k) out[k] = row.querySelector('.meta-value').value;
  }
  return out;
}

export function setupFileView() {
  $('#file-meta-add').addEventListener('click', () => {
    const row = metaRow();
    $('#file-meta').append(row);
    row.querySelector('input').focus();
  });
  $('#file-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!current) return;
    $('#file-saved').hidden = true;
    try {
      const body = { name: $('#file-name').value.trim(), description: $('#file-desc').value.trim(), metadata: readMetadata() };
      current = await call('PATCH', `/uploads/${encodeURIComponent(current.id)}`, { body });
      render(current);
      showError($('#file-error'), '');
      $('#file-saved').textContent = 'Saved.';
      $('#file-saved').hidden = false;
    } catch (err) {
      $('#file-saved').hidden = true;
      showError($('#file-error'), `Could not save: ${explain(err)}`);
    }
  });
  $('#file-unpin').addEventListener('click', async () => {
    if (!current) return;
    const ok = await unpinRecords([current], `Unpin ${current.name || '(unnamed)'} (${current.cid})?`,
      { after: async () => {}, errorNode: $('#file-error') });
    if (ok) location.hash = '#files';
  });
}
