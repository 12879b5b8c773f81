// Upload-signing keys and access JWTs in the Keys & tokens view: create
// (the secret shown once), list with their use, revoke. Both are minted
// from an API key only, so their forms are shown to API-key sessions.
import { call, can, explain } from './session.js';
import { scopeBoxes, checkedScopes } from './keys.js';
import {
  el, $, td, setContent, showError, formatDate, formatNumber, relativeTime,
  confirmDialog, toast, secretBox, pager,
} from './util.js';

const LIMIT = 50;
const DAY = 86400e3;

// ---- Upload-signing keys -------------------------------------------------

const signing = pager($('#signing-more'),
  (cursor) => call('GET', '/upload-signing-keys', { query: { limit: LIMIT, cursor }, page: true }),
  (items, append) => {
    const tbody = $('#signing-table tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(signingRow));
    $('#signing-empty').hidden = tbody.childElementCount > 0;
  });

export async function loadSigningKeys() {
  try {
    await signing.reload();
  } catch (err) {
    showError($('#signing-error'), `Could not list signing keys: ${explain(err)}`);
  }
}

// signingUses counts the uploads made with a signing key's JWTs. Every
// analytics event records the credential's display prefix, which for an
// upload JWT is its key id's first 12 characters; the report covers at most
// 366 days, so an older key's count is of its last year.
async function signingUses(k, cell) {
  if (!can('analytics:read')) {
    setContent(cell, el('span', { class: 'muted', title: 'needs analytics:read' }, '–'));
    return;
  }
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  const now = Date.now();
  const from = Math.max(k.createdAt, now - 365 * DAY);
  try {
    const r = await call('GET', '/analytics', { query: { from: iso(from), to: iso(now), apiKey: k.kid.slice(0, 12) } });
    const t = r.totals || {};
    setContent(cell, formatNumber(t.uploads), t.failedUploads ? el('div', { class: 'muted' }, `${formatNumber(t.failedUploads)} refused`) : null,
      from > k.createdAt ? el('div', { class: 'muted' }, 'in the last year') : null);
  } catch {
    setContent(cell, '–');
  }
}

function signingRow(k) {
  const uses = td('Uploads', { class: 'num' }, '…');
  signingUses(k, uses);
  return el('tr', { 'data-kid': k.kid },
    td('Name', {}, k.name || '(unnamed)'),
    td('Key id (kid)', {}, el('code', { class: 'cid' }, k.kid)),
    td('Created', { class: 'num' }, formatDate(k.createdAt)),
    td('Status', {}, el('span', { class: `badge ${k.revoked ? 'revoked' : 'active'}` }, k.revoked ? 'revoked' : 'active')),
    uses,
    el('td', {}, k.revoked ? null : el('button', {
      type: 'button', class: 'small danger',
      onclick: async () => {
        if (!(await confirmDialog(`Revoke the signing key "${k.name || k.kid}"? Every upload JWT it signed stops working at once.`, 'Revoke'))) return;
        try {
          await call('DELETE', `/upload-signing-keys/${encodeURIComponent(k.kid)}`);
          toast('Signing key revoked');
          loadSigningKeys();
        } catch (err) {
          showError($('#signing-error'), `Could not revoke: ${explain(err)}`);
        }
      },
    }, 'Revoke')));
}

async function createSigningKey(e) {
  e.preventDefault();
  try {
    const k = await call('POST', '/upload-signing-keys', { body: { name: $('#signing-name').value.trim() } });
    showError($('#signing-error'), '');
    const box = $('#signing-created');
    setContent(box,
      el('p', {}, 'Key id (the JWT header\'s kid): ', el('code', { id: 'signing-kid' }, k.kid)),
      secretBox('Signing secret (shown once):', k.secret),
      el('p', { class: 'hint' }, 'Put both in your backend\'s secrets; it signs HS256 upload JWTs with the secret, the header naming the kid.'));
    box.hidden = false;
    $('#signing-form').reset();
    loadSigningKeys();
  } catch (err) {
    showError($('#signing-error'), `Could not create the signing key: ${explain(err)}`);
  }
}

// ---- Access JWTs ----------------------------------------------------------

const jwts = pager($('#jwts-more'),
  (cursor) => call('GET', '/auth/jwt', { query: { limit: LIMIT, cursor }, page: true }),
  (items, append) => {
    const tbody = $('#jwts-table tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(jwtRow));
    $('#jwts-empty').hidden = tbody.childElementCount > 0;
  });

export async function loadJWTs() {
  try {
    await jwts.reload();
  } catch (err) {
    showError($('#jwt-error'), `Could not list access JWTs: ${explain(err)}`);
  }
}

function jwtRow(j) {
  const revocable = j.status === 'active' || j.status === 'exhausted';
  return el('tr', { 'data-jti': j.jti },
    td('Name', {}, j.name || '(unnamed)', el('div', {}, el('code', { class: 'muted cid' }, j.jti))),
    td('Scopes', { class: 'wrap' }, (j.scopes || []).join(', ')),
    td('Status', {}, el('span', { class: `badge ${j.status}` }, j.status)),
    td('Uses', { class: 'num' }, j.maxUses ? `${formatNumber(j.uses)} of ${formatNumber(j.maxUses)}` : formatNumber(j.uses)),
    td('Expires', { class: 'num' }, formatDate(j.expiresAt), j.status === 'active' ? el('div', { class: 'muted' }, relativeTime(j.expiresAt)) : null),
    el('td', {}, revocable ? el('button', {
      type: 'button', class: 'small danger',
      onclick: async () => {
        if (!(await confirmDialog(`Revoke the access JWT "${j.name || j.jti}"? Requests with it fail at once.`, 'Revoke'))) return;
        try {
          await call('DELETE', `/auth/jwt/${encodeURIComponent(j.jti)}`);
          toast('Access JWT revoked');
          loadJWTs();
        } catch (err) {
          showError($('#jwt-error'), `Could not revoke: ${explain(err)}`);
        }
      },
    }, 'Revoke') : null));
}

async function createJWT(e) {
  e.preventDefault();
  const scopes = checkedScopes($('#jwt-scopes'));
  if (scopes.length === 0) {
    showError($('#jwt-error'), 'Pick at least one scope.');
    return;
  }
  const body = { name: $('#jwt-name').value.trim(), scopes, expiresIn: $('#jwt-exp').value };
  if ($('#jwt-uses').value) body.maxUses = Number($('#jwt-uses').value);
  if ($('#jwt-publish').value) body.publishName = $('#jwt-publish').value;
  try {
    const j = await call('POST', '/auth/jwt', { body });
    showError($('#jwt-error'), '');
    const box = $('#jwt-created');
    setContent(box, secretBox('New access JWT (shown once):', j.token),
      el('p', { class: 'hint' }, `Scopes ${j.scopes.join(', ')}; expires ${formatDate(j.expiresAt)}. Send it as "Authorization: Bearer …".`),
      j.publishName ? el('p', { class: 'hint', id: 'jwt-publish-name' }, 'It may also publish to the name ', el('code', { class: 'cid' }, j.publishName), '.') : null);
    box.hidden = false;
    $('#jwt-form').reset();
    loadJWTs();
  } catch (err) {
    showError($('#jwt-error'), `Could not create the JWT: ${explain(err)}`);
  }
}

export function setupCredentials() {
  $('#signing-form').addEventListener('submit', createSigningKey);
  $('#jwt-form').addEventListener('submit', createJWT);
}

// fillScopeForms offers, in the JWT and API key forms, the scopes the
// session holds.
export function fillScopeForms() {
  scopeBoxes($('#jwt-scopes'), ['pins:read']);
  scopeBoxes($('#key-scopes'), ['upload', 'pins:read', 'pins:write', 'tokens:write', 'analytics:read']);
}
