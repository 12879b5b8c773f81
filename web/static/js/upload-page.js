// The public upload page: GET /upload?token=sup_… (or a token pasted in),
// or an upload-only credential the dashboard's sign-in handed over in this
// tab's sessionStorage. It checks an upload token first (GET
// /upload-tokens/info) and shows its limits, or why it cannot be used,
// before any upload starts. Uploads go through the client library.
import { Ninja } from '/js/ninja.js';
import { explain, kindLabel, NinjaError, UPLOAD_KEY, uploadOnlyKind } from './session.js';
import { createUploader } from './uploader.js';
import { el, $, setContent, showError, formatBytes, formatDate, relativeTime } from './util.js';

const MB = 1 << 20; // the API's MB (maxSizeMB) is a MiB

let token = new URLSearchParams(location.search).get('token') || sessionStorage.getItem(UPLOAD_KEY) || '';
let client = null;
let info = null;
let usesLeft = null; // null: unlimited

// mimeAllowed mirrors the server's wildcard match on the declared type; the
// server also checks the sniffed bytes, so this only spares a doomed upload.
function mimeAllowed(type, allowed) {
  if (!allowed || allowed.length === 0 || !type) return true;
  return allowed.some((a) => a === '*/*' || a === type || (a.endsWith('/*') && type.startsWith(a.slice(0, -1))));
}

const uploader = createUploader($('#page-uploader'), {
  client: () => client,
  concurrency: 2,
  precheck(file) {
    if (!info) return 'No valid upload token.';
    if (info.other) return ''; // not an upload token: its limits are checked on upload
    if (info.maxSizeMB && file.size > info.maxSizeMB * MB) {
      return `Too large: ${formatBytes(file.size)}, the limit is ${info.maxSizeMB} MB per file.`;
    }
    if (!mimeAllowed(file.type, info.allowedMimeTypes)) {
      return `Type ${file.type} is not allowed; this link takes ${info.allowedMimeTypes.join(', ')}.`;
    }
    if (usesLeft !== null) {
      if (usesLeft <= 0) return 'This upload link has no uploads left.';
      usesLeft--;
    }
    return '';
  },
  onFinished: () => check(false),
});

// whyUnusable is the message for a token that cannot upload, or ''.
function whyUnusable(status) {
  switch (status) {
    case 'expired': return 'This upload link has expired. Ask whoever sent it for a new one.';
    case 'revoked': return 'This upload link was revoked. Ask whoever sent it for a new one.';
    case 'exhausted': return 'This upload link has been used up: it has no uploads left.';
  }
  return '';
}

function showBlocked(msg) {
  info = null;
  showError($('#token-error'), msg);
  uploader.setEnabled(false);
  // Keep finished uploads on screen; hide an empty drop zone.
  $('#upload-section').hidden = uploader.list.childElementCount === 0;
  $('#token-info').hidden = true;
}

// check asks the server about the token. first: the page has just opened
// (or a token was pasted), so a failure also offers the paste form.
// otherInfo describes a credential that is not an upload token: an API key
// or access JWT with scope upload only (GET /auth/whoami), or an upload
// JWT, which any request would spend, so nothing is asked about it.
async function otherInfo() {
  if (uploadOnlyKind(token)) return { other: true, tokenName: 'Upload JWT (single use)', status: 'active' };
  const who = await client.request('GET', '/auth/whoami');
  return { other: true, tokenName: `${kindLabel(who.kind)} ${who.prefix}…`, status: 'active', expiresAt: who.expiresAt };
}

async function check(first) {
  $('#token-checking').hidden = !first;
  client = new Ninja({ token });
  try {
    info = token.startsWith('sup_') ? await client.request('GET', '/upload-tokens/info') : await otherInfo();
  } catch (err) {
    $('#token-checking').hidden = true;
    const e = err instanceof NinjaError ? err : null;
    let msg = explain(err);
    if (e && e.reason === 'TOKEN_EXPIRED') msg = whyUnusable('expired');
    else if (e && e.reason === 'TOKEN_REVOKED') msg = whyUnusable('revoked');
    else if (e && e.reason === 'TOKEN_EXHAUSTED') msg = whyUnusable('exhausted');
    else if (e && e.status === 401) msg = 'This upload token is not valid. Check the link or paste the token again.';
    showBlocked(msg);
    if (first) $('#token-form').hidden = false;
    return;
  }
  $('#token-checking').hidden = true;
  usesLeft = info.usesLeft === undefined ? null : info.usesLeft;
  showConstraints(info);
  const blocked = whyUnusable(info.status) || (usesLeft !== null && usesLeft <= 0 ? whyUnusable('exhausted') : '');
  if (blocked) {
    showError($('#token-error'), blocked);
    uploader.setEnabled(false);
    $('#upload-section').hidden = uploader.list.childElementCount === 0;
    return;
  }
  showError($('#token-error'), '');
  $('#token-form').hidden = true;
  $('#upload-section').hidden = false;
  uploader.setEnabled(true);
}

function showConstraints(t) {
  const item = (label, value) => el('li', {}, el('span', { class: 'label' }, label), el('span', { class: 'value' }, value));
  if (t.other) {
    $('#token-name').textContent = `Signed in with ${t.tokenName}`;
    setContent($('#token-constraints'),
      item('Expires', t.expiresAt ? `${relativeTime(t.expiresAt)} (${formatDate(t.expiresAt)})` : 'never'),
      item('Limits', 'checked on upload'));
    $('#token-info').hidden = false;
    return;
  }
  $('#token-name').textContent = t.tokenName ? `Upload link: ${t.tokenName}` : 'Upload link';
  setContent($('#token-constraints'),
    item('Expires', t.expiresAt ? `${relativeTime(t.expiresAt)} (${formatDate(t.expiresAt)})` : 'never'),
    item('Uploads left', t.usesLeft === null || t.usesLeft === undefined ? 'unlimited' : `${t.usesLeft} of ${t.maxUploads}`),
    item('Max file size', t.maxSizeMB ? `${t.maxSizeMB} MB` : 'no limit'),
    item('File types', t.allowedMimeTypes && t.allowedMimeTypes.length ? t.allowedMimeTypes.join(', ') : 'any'));
  $('#token-info').hidden = false;
}

$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('#token-input').value.trim();
  sessionStorage.removeItem(UPLOAD_KEY);
  check(true);
});

if (token) {
  check(true);
} else {
  $('#token-checking').hidden = true;
  $('#token-form').hidden = false;
  uploader.setEnabled(false);
}
