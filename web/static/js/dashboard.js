// The dashboard. It signs in with any credential that may read pins (an
// API key or an access JWT), asks GET /auth/whoami what that credential may
// do, and shows only those views and buttons: what it may not do is
// hidden, not left to fail. An upload-only credential is sent to the
// upload page. Views are switched by the URL hash.
import { session, begin, end, can, isKind, kindLabel, explain, onSignOut, storedCredential, uploadOnlyKind, UPLOAD_KEY, NinjaError } from './session.js';
import { createUploader } from './uploader.js';
import { loadFiles, setupFiles } from './files.js';
import { loadFile, setupFileView } from './file-view.js';
import { loadQueue, setupPins } from './pins.js';
import { loadGroups, loadGroup, setupGroups } from './groups.js';
import { loadNames, setupNames, fillCredentialNames } from './names.js';
import { loadTokens, loadKeys, setupKeys } from './keys.js';
import { loadSigningKeys, loadJWTs, setupCredentials, fillScopeForms } from './credentials.js';
import { loadAnalytics, redrawAnalytics, setupAnalytics } from './analytics.js';
import { loadServer, setupServer } from './server-view.js';
import { $, $$, showError } from './util.js';

// Each view, the scope it needs and what loads it. Files, pins and keys
// reload on every visit (uploads and tokens change them); analytics and
// the server view on the first, then on demand.
const views = {
  files: { needs: 'pins:read', load: loadFiles, always: true },
  file: { needs: 'pins:read', load: (arg) => loadFile(arg), always: true },
  upload: { needs: 'upload' },
  groups: { needs: 'pins:read', load: loadGroups, always: true },
  group: { needs: 'pins:read', load: (arg) => loadGroup(arg), always: true },
  names: { needs: 'names', load: loadNames, always: true },
  pins: { needs: 'pins:read', load: loadQueue, always: true },
  keys: { needs: 'tokens:write', load: loadCredentials, always: true },
  analytics: { needs: 'analytics:read', load: loadAnalytics, show: redrawAnalytics },
  server: { needs: 'admin', load: loadServer },
};

function loadCredentials() {
  // A secret is shown once: coming back to the view, it is gone.
  for (const id of ['#token-created', '#signing-created', '#jwt-created', '#key-created']) {
    $(id).hidden = true;
    $(id).replaceChildren();
  }
  loadTokens();
  loadSigningKeys();
  loadJWTs();
  if (can('admin')) loadKeys();
  if (can('names')) fillCredentialNames();
}

// ---- Sign in --------------------------------------------------------------

function toUploadPage(cred) {
  sessionStorage.setItem(UPLOAD_KEY, cred);
  location.assign('/upload');
}

async function signIn(cred) {
  if (uploadOnlyKind(cred)) return toUploadPage(cred);
  const who = await begin(cred);
  if (!can('pins:read')) {
    end();
    if (who.scopes.includes('upload')) return toUploadPage(cred);
    throw new NinjaError(403, 'FORBIDDEN', 'this credential can neither read pins nor upload');
  }
  applyScopes();
  showSignedIn(true);
  route();
}

function signOut(msg) {
  end();
  loaded.clear();
  current = '';
  showSignedIn(false);
  showError($('#signin-error'), msg || '');
}
onSignOut(signOut);

// applyScopes hides every element whose data-needs scope the session lacks,
// and those meant for another kind of credential.
function applyScopes() {
  for (const n of $$('[data-needs]')) n.hidden = !can(n.dataset.needs);
  for (const n of $$('[data-needs-kind]')) n.hidden = !isKind(n.dataset.needsKind);
  for (const n of $$('[data-hides-kind]')) n.hidden = isKind(n.dataset.hidesKind);
  const w = session.who;
  $('#who').textContent = `${w.accountName} · ${w.prefix}…`;
  $('#who').title = `Signed in with ${kindLabel(w.kind)} ${w.prefix}… (scopes: ${w.scopes.join(', ')})`;
  fillScopeForms();
}

function showSignedIn(on) {
  $('#signin').hidden = on;
  $('#tabs').hidden = !on;
  $('#signout').hidden = !on;
  $('#who').hidden = !on;
  if (!on) {
    for (const v of Object.keys(views)) $(`#view-${v}`).hidden = true;
    $('#signin-key').value = '';
    $('#signin-key').focus();
  }
}

$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const btn = e.submitter;
  if (btn) btn.disabled = true;
  try {
    await signIn($('#signin-key').value.trim());
    showError($('#signin-error'), '');
  } catch (err) {
    let msg = explain(err);
    if (err instanceof NinjaError && err.status === 401) msg = 'That credential was not accepted. Check it and try again.';
    if (err instanceof NinjaError && err.status === 403) msg = 'That credential works but may neither read pins nor upload, so it has no use here.';
    showError($('#signin-error'), msg);
  } finally {
    if (btn) btn.disabled = false;
  }
});

$('#signout').addEventListener('click', () => signOut(''));

// ---- Routing --------------------------------------------------------------

const loaded = new Set();
let current = '';

// defaultView is the first view the session may use.
const defaultView = () => Object.keys(views).find((v) => v !== 'file' && v !== 'group' && can(views[v].needs));

function route() {
  if (!session.who) return;
  const [name, ...rest] = location.hash.slice(1).split('/');
  const arg = decodeURIComponent(rest.join('/'));
  let v = name.startsWith('keys-') ? 'keys' : name;
  if (!views[v] || !can(views[v].needs) || ((v === 'file' || v === 'group') && !arg)) v = defaultView();
  for (const k of Object.keys(views)) $(`#view-${k}`).hidden = k !== v;
  const tab = { file: 'files', group: 'groups' }[v] || v;
  for (const a of $$('#tabs a')) {
    if (a.getAttribute('href') === `#${tab}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = views[v];
  // A link to one card of the keys view (#keys-signing) only scrolls to
  // it: reloading would also drop a secret just shown.
  const within = v === current && name !== v;
  current = v;
  if (view.load && !within && (view.always || !loaded.has(v))) {
    loaded.add(v);
    view.load(arg);
  } else if (view.show) {
    view.show();
  }
  // A link to one credential kind's card scrolls to it.
  if (name.startsWith('keys-')) {
    const card = $(`#${name}`);
    if (card) card.focus();
  }
}

window.addEventListener('hashchange', () => {
  route();
  if (!location.hash.startsWith('#keys-')) $('#main').focus();
});

// ---- Start ----------------------------------------------------------------

createUploader($('#dash-uploader'), { client: () => session.client });
setupFiles();
setupFileView();
setupPins();
setupGroups();
setupNames();
setupKeys();
setupCredentials();
setupAnalytics();
setupServer();

const stored = storedCredential();
if (stored) {
  signIn(stored).catch((err) => signOut(err instanceof NinjaError && err.status === 401
    ? 'The server no longer accepts this credential. Sign in again.' : explain(err)));
} else {
  showSignedIn(false);
}

