// The Names view (scope names): the account's IPNS names (GET /names,
// paged), created (POST /names), published to (POST /names/{name}) and
// deleted (DELETE /names/{name}); on a file's page, publishing the file's
// CID to one of them; and the names an upload token may be bound to.
import { call, explain, session, NinjaError } from './session.js';
import {
  el, $, td, setContent, showError, formatDate, formatNumber, relativeTime,
  copyButton, confirmDialog, toast, pager,
} from './util.js';

const LIMIT = 50;

// publishError says why a publish was refused, with ninja's reason: a
// sequence not above the current one (409) or a value not stored here (400).
function publishError(err) {
  if (err instanceof NinjaError && err.status === 409) return `Refused (${err.reason}): ${err.details || 'the name changed meanwhile'}.`;
  if (err instanceof NinjaError && err.status === 400) return `Refused (${err.reason}): ${err.details || 'not a value ninja can publish'}.`;
  return explain(err);
}

// nameLinks are where the name is served: the gateway's /ipns/ path and,
// with a subdomain gateway, the name's own origin {name}.ipns.{host}.
export function nameLinks(n) {
  const out = [el('a', { href: `/ipns/${n.ipnsName}`, target: '_blank', rel: 'noopener', class: 'ipns-path' }, 'Gateway')];
  const base = session.who && session.who.subdomainGateway;
  if (base) {
    const u = new URL(base);
    const href = `${u.protocol}//${n.ipnsName}.ipns.${u.host}/`;
    out.push(el('a', { href, target: '_blank', rel: 'noopener', class: 'ipns-subdomain', title: href }, 'Subdomain'));
  }
  return out;
}

// ---- The list ---------------------------------------------------------------

const namesPager = pager($('#names-more'),
  (cursor) => call('GET', '/names', { query: { limit: LIMIT, cursor }, page: true }),
  (items, append) => {
    const tbody = $('#names-table tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(nameRow));
    const n = tbody.childElementCount;
    $('#names-empty').hidden = n > 0;
    $('#names-count').textContent = `${formatNumber(n)}${$('#names-more').hidden ? '' : '+'} ${n === 1 ? 'name' : 'names'}`;
  });

export async function loadNames() {
  $('#publish-done').hidden = true;
  showError($('#publish-error'), '');
  try {
    await namesPager.reload();
    showError($('#names-error'), '');
  } catch (err) {
    showError($('#names-error'), `Could not list names: ${explain(err)}`);
  }
  const own = fillPicker($('#publish-name'), await namesOrNone($('#names-error')));
  $('#publish-form button[type="submit"]').disabled = own.length === 0;
}

function nameRow(n) {
  const published = Boolean(n.value);
  const valid = n.validity ? Date.parse(n.validity) : 0;
  return el('tr', { 'data-name': n.ipnsName, 'data-label': n.name },
    td('Name', {},
      el('strong', { class: 'name-label' }, n.name),
      el('div', { class: 'ipns-name' }, el('code', { class: 'cid' }, n.ipnsName)),
      el('div', { class: 'row-links' }, copyButton(n.ipnsName, 'Copy name', 'IPNS name copied'), nameLinks(n))),
    td('Value', {}, published
      ? el('code', { class: 'cid name-value' }, n.value)
      : el('span', { class: 'muted name-value' }, n.external ? 'external: its owner publishes' : 'not published yet')),
    td('Sequence', { class: 'num name-seq' }, published ? String(n.sequence) : '–'),
    td('Valid until', { class: 'num' }, published ? formatDate(n.validity) : '–',
      valid ? el('div', { class: valid < Date.now() ? 'expired-text' : 'muted' }, relativeTime(valid)) : null),
    td('Published', { class: 'num' }, published ? formatDate(n.publishedAt) : '–'),
    el('td', {}, el('div', { class: 'row-actions' },
      n.external ? null : el('button', { type: 'button', class: 'small publish', onclick: () => choose(n) }, 'Publish…'),
      el('button', { type: 'button', class: 'small danger delete', onclick: () => remove(n) }, 'Delete'))));
}

// choose points the publish form at n.
function choose(n) {
  $('#publish-name').value = n.ipnsName;
  $('#publish-card').scrollIntoView({ block: 'nearest' });
  $('#publish-value').focus();
}

async function remove(n) {
  const ok = await confirmDialog(`Delete the name "${n.name}" (${n.ipnsName})? Its key is destroyed: the name stops resolving here and can never be published again.`, 'Delete name');
  if (!ok) return;
  try {
    await call('DELETE', `/names/${encodeURIComponent(n.ipnsName)}`);
    toast('Name deleted');
    loadNames();
  } catch (err) {
    showError($('#names-error'), `Could not delete: ${explain(err)}`);
  }
}

// ---- Every name, for the pickers ---------------------------------------------

// allNames reads every name of the account, page by page.
export async function allNames() {
  const out = [];
  let cursor = '';
  do {
    const page = await call('GET', '/names', { query: { limit: 1000, cursor }, page: true });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

async function namesOrNone(errorNode) {
  try {
    return await allNames();
  } catch (err) {
    showError(errorNode, `Could not list names: ${explain(err)}`);
    return [];
  }
}

// fillPicker offers names in a select: those ninja can publish to (not
// external ones), and with none, a placeholder that disables the select.
// blank, when given, is a first option meaning "none".
export function fillPicker(select, names, { blank = '' } = {}) {
  const own = names.filter((n) => !n.external);
  const keep = select.value;
  const options = own.map((n) => el('option', { value: n.ipnsName }, `${n.name} (${n.ipnsName.slice(0, 12)}…)`));
  if (blank) options.unshift(el('option', { value: '' }, blank));
  else if (own.length === 0) options.push(el('option', { value: '' }, 'No names yet'));
  setContent(select, options);
  if (keep && own.some((n) => n.ipnsName === keep)) select.value = keep;
  select.disabled = !blank && own.length === 0;
  return own;
}

// publish posts value to a name and says what came of it.
async function publish(name, value, lifetime, sequence) {
  const body = { value };
  if (lifetime) body.lifetime = lifetime;
  if (sequence !== undefined && sequence !== '') body.sequence = Number(sequence);
  return call('POST', `/names/${encodeURIComponent(name)}`, { body });
}

// ---- A file's names (on its page) --------------------------------------------

let fileShown = null;

/** loadFileNames fills the file page's IPNS names card for file {cid}. */
export async function loadFileNames(file) {
  fileShown = file;
  showError($('#file-ipns-error'), '');
  $('#file-ipns-done').hidden = true;
  const list = $('#file-ipns');
  setContent(list, el('li', { class: 'muted' }, 'Loading…'));
  const names = await namesOrNone($('#file-ipns-error'));
  if (fileShown !== file) return; // another file's page was opened meanwhile
  const here = names.filter((n) => n.value === `/ipfs/${file.cid}` || n.value === file.cid);
  setContent(list, here.length
    ? here.map((n) => el('li', { 'data-name': n.ipnsName },
      el('a', { href: '#names' }, n.name), el('span', { class: 'muted' }, ` points here (sequence ${n.sequence})`)))
    : [el('li', { class: 'muted' }, names.length ? 'No name points at this file.' : 'No names yet. Create one in the Names view.')]);
  const own = fillPicker($('#file-ipns-pick'), names);
  $('#file-ipns-form button').disabled = own.length === 0;
}

// ---- Credentials bound to a name (Keys & tokens) ------------------------------

/**
 * fillCredentialNames offers the account's names in the upload token and
 * access JWT forms: a credential minted with publishName may publish to
 * that one name (POST /names/{name}) and to no other.
 */
export async function fillCredentialNames() {
  const names = await namesOrNone($('#token-error'));
  fillPicker($('#tok-publish'), names, { blank: 'None: upload only' });
  fillPicker($('#jwt-publish'), names, { blank: 'None' });
}

export function setupNames() {
  $('#name-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#name-label').value.trim();
    if (!name) return;
    try {
      const n = await call('POST', '/names', { body: { name } });
      $('#name-form').reset();
      showError($('#names-error'), '');
      toast(`Name "${n.name}" created`);
      await loadNames();
      $('#publish-name').value = n.ipnsName;
    } catch (err) {
      showError($('#names-error'), `Could not create the name: ${explain(err)}`);
    }
  });
  $('#publish-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#publish-name').value;
    const value = $('#publish-value').value.trim();
    if (!name || !value) return;
    $('#publish-done').hidden = true;
    try {
      const n = await publish(name, value, $('#publish-lifetime').value, $('#publish-seq').value);
      showError($('#publish-error'), '');
      $('#publish-value').value = '';
      $('#publish-seq').value = '';
      await namesPager.reload();
      $('#publish-done').textContent = `Published: ${n.name} points at ${n.value}, sequence ${n.sequence}.`;
      $('#publish-done').hidden = false;
    } catch (err) {
      showError($('#publish-error'), `Could not publish: ${publishError(err)}`);
    }
  });
  $('#file-ipns-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#file-ipns-pick').value;
    const file = fileShown;
    if (!name || !file) return;
    $('#file-ipns-done').hidden = true;
    try {
      const n = await publish(name, `/ipfs/${file.cid}`);
      showError($('#file-ipns-error'), '');
      await loadFileNames(file);
      $('#file-ipns-done').textContent = `Published: ${n.name} points at this file, sequence ${n.sequence}.`;
      $('#file-ipns-done').hidden = false;
    } catch (err) {
      showError($('#file-ipns-error'), `Could not publish: ${publishError(err)}`);
    }
  });
}
