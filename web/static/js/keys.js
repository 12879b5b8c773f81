// Signed upload tokens (tokens:write) and API keys (admin) in the Keys &
// tokens view: create with the secret shown once, list page by page
// (X-Next-Cursor) with their use, revoke.
import { call, can, explain, session } from './session.js';
import {
  el, $, td, setContent, showError, formatBytes, formatDate, relativeTime,
  copyButton, confirmDialog, toast, splitList, secretBox, pager,
} from './util.js';

const LIMIT = 50;

export const SCOPES = ['upload', 'pins:read', 'pins:write', 'tokens:write', 'analytics:read', 'names', 'metrics', 'admin'];

// scopeBoxes fills a fieldset with one checkbox per scope the session may
// grant (a credential can only hand on what it holds).
export function scopeBoxes(fieldset, checked) {
  const legend = fieldset.querySelector('legend');
  setContent(fieldset, legend, SCOPES.filter((s) => can(s)).map((s) =>
    el('label', { class: 'inline' }, el('input', { type: 'checkbox', name: 'scope', value: s, checked: checked.includes(s) }), ` ${s}`)));
}

export const checkedScopes = (fieldset) => [...fieldset.querySelectorAll('input[name="scope"]:checked')].map((c) => c.value);

// ---- Upload tokens ------------------------------------------------------

const tokens = pager($('#tokens-more'),
  (cursor) => call('GET', '/signed-tokens', { query: { limit: LIMIT, cursor }, page: true }),
  (items, append) => {
    const tbody = $('#tokens-table tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(tokenRow));
    $('#tokens-empty').hidden = tbody.childElementCount > 0;
  });

export async function loadTokens() {
  try {
    await tokens.reload();
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
    td('Name', {}, name, el('div', {}, el('code', { class: 'muted' }, t.tokenPrefix)),
      t.publishName ? el('div', { class: 'muted', title: t.publishName }, 'may publish to ', el('code', { class: 'cid' }, `${t.publishName.slice(0, 12)}…`)) : null),
    td('Status', {}, el('span', { class: `badge ${t.status}` }, t.status)),
    td('Uses', { class: 'num' }, uses, failures ? el('div', { class: 'muted wrap' }, `failed: ${failures}`) : null),
    td('Last used', { class: 'num' }, t.lastUsedAt ? formatDate(t.lastUsedAt) : 'never'),
    td('Expires', { class: 'num' }, formatDate(t.expiresAt), t.status === 'active' ? el('div', { class: 'muted' }, relativeTime(t.expiresAt)) : null),
    td('Uploaded', { class: 'num' }, formatBytes(t.bytesUploaded || 0)),
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

async function createToken(e) {
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
  if ($('#tok-publish').value) body.publishName = $('#tok-publish').value;
  try {
    const t = await call('POST', '/upload-tokens', { body });
    showError($('#token-error'), '');
    const link = `${location.origin}/upload?token=${encodeURIComponent(t.token)}`;
    const box = $('#token-created');
    setContent(box,
      secretBox('New token (shown once):', t.token),
      el('p', {}, 'Upload page for this token: ',
        el('a', { href: link, target: '_blank', rel: 'noopener', id: 'token-link' }, `/upload?token=${t.tokenPrefix || 'sup_'}…`),
        ' ', copyButton(link, 'Copy link', 'Link copied')),
      el('p', { class: 'hint' }, `Expires ${formatDate(t.expiresAt)}. Copy the token or the link now: only its prefix is kept.`),
      t.publishName ? el('p', { class: 'hint', id: 'token-publish-name' }, 'It may also publish to the name ', el('code', { class: 'cid' }, t.publishName), ' (POST /names/{name}).') : null);
    box.hidden = false;
    $('#token-form').reset();
    loadTokens();
  } catch (err) {
    showError($('#token-error'), `Could not create the token: ${explain(err)}`);
  }
}

// ---- API keys (admin) ---------------------------------------------------

const keys = pager($('#keys-more'),
  (cursor) => call('GET', '/admin/keys', { query: { limit: LIMIT, cursor }, page: true }),
  (items, append) => {
    const tbody = $('#keys-table tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(keyRow));
  });

export async function loadKeys() {
  try {
    await keys.reload();
  } catch (err) {
    showError($('#key-error'), `Could not list keys: ${explain(err)}`);
  }
}

function keyRow(k) {
  const self = k.prefix && session.credential.startsWith(k.prefix);
  return el('tr', { 'data-key-id': k.id },
    td('Name', {}, k.name, self ? el('div', { class: 'muted' }, '(this session)') : null),
    td('Prefix', {}, el('code', {}, k.prefix)),
    td('Scopes', { class: 'wrap' }, (k.scopes || []).join(', ')),
    td('Created', { class: 'num' }, formatDate(k.created)),
    td('Status', {}, el('span', { class: `badge ${k.revoked ? 'revoked' : 'active'}` }, k.revoked ? 'revoked' : 'active')),
    el('td', {}, k.revoked ? null : el('button', {
      type: 'button', class: 'small danger',
      onclick: async () => {
        const warn = self ? ' This is the key you are signed in with: you will be signed out.' : '';
        if (!(await confirmDialog(`Revoke the API key "${k.name}" (${k.prefix}…)? Its tokens, signing keys and JWTs stop working too.${warn}`, 'Revoke'))) return;
        try {
          await call('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`);
          toast('Key revoked');
          loadKeys();
        } catch (err) {
          showError($('#key-error'), `Could not revoke: ${explain(err)}`);
        }
      },
    }, 'Revoke')));
}

async function createKey(e) {
  e.preventDefault();
  const scopes = checkedScopes($('#key-scopes'));
  if (scopes.length === 0) {
    showError($('#key-error'), 'Pick at least one scope.');
    return;
  }
  try {
    const k = await call('POST', '/admin/keys', { body: { name: $('#key-name').value.trim(), scopes } });
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
}

export function setupKeys() {
  $('#token-form').addEventListener('submit', createToken);
  $('#key-form').addEventListener('submit', createKey);
}
