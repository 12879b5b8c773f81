// The Groups views: the account's groups (Pinata's, under /v3/groups/public,
// which the dashboard's credential may call like any other API), created,
// renamed and deleted here; one group's files (GET /v3/files/public?group=);
// and, on a file's page, the groups it is in, with add and remove.
import { call, can, explain } from './session.js';
import {
  el, $, td, setContent, showError, formatBytes, formatDate, formatNumber,
  copyButton, confirmDialog, toast, pager,
} from './util.js';

const LIMIT = 50;
const GROUPS = '/v3/groups/public';
const FILES = '/v3/files/public';

// data unwraps Pinata's {data: …} answers.
const data = async (p) => ((await p) || {}).data;

// ---- The groups list -------------------------------------------------------

let query = '';

const groupsPager = pager($('#groups-more'),
  async (cursor) => {
    const d = await data(call('GET', GROUPS, { query: { limit: LIMIT, pageToken: cursor, name: query } }));
    return { items: d.groups || [], next: d.next_page_token || '' };
  },
  (items, append) => {
    const tbody = $('#groups-table tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(groupRow));
    const n = tbody.childElementCount;
    $('#groups-empty').hidden = n > 0;
    $('#groups-empty').textContent = query ? 'No groups match.' : 'No groups yet.';
    $('#groups-count').textContent = `${formatNumber(n)}${$('#groups-more').hidden ? '' : '+'} ${n === 1 ? 'group' : 'groups'}`;
  });

export async function loadGroups() {
  try {
    await groupsPager.reload();
    showError($('#groups-error'), '');
  } catch (err) {
    showError($('#groups-error'), `Could not list groups: ${explain(err)}`);
  }
}

function groupRow(g) {
  const link = `#group/${encodeURIComponent(g.id)}`;
  const nameCell = td('Name', {}, el('a', { href: link, class: 'group-link' }, g.name));
  const tr = el('tr', { 'data-id': g.id, 'data-name': g.name },
    nameCell,
    td('ID', {}, el('span', { class: 'cid' }, g.id)),
    td('Created', { class: 'num' }, formatDate(g.createdAt || g.created_at)),
    el('td', {}, el('div', { class: 'row-actions' },
      el('a', { class: 'button small', href: link }, 'Files'),
      can('pins:write') ? el('button', { type: 'button', class: 'small rename', onclick: () => rename(g, nameCell) }, 'Rename') : null,
      can('pins:write') ? el('button', { type: 'button', class: 'small danger delete', onclick: () => remove(g) }, 'Delete') : null)));
  return tr;
}

// rename turns the name cell into a small form until it is saved or
// cancelled.
function rename(g, cell) {
  const input = el('input', { type: 'text', class: 'rename-input', value: g.name, required: true, maxlength: 255, 'aria-label': `New name of ${g.name}` });
  const form = el('form', { class: 'inline-form rename-form' },
    el('div', { class: 'grow' }, input),
    el('button', { type: 'submit', class: 'small primary' }, 'Save'),
    el('button', { type: 'button', class: 'small', onclick: () => loadGroups() }, 'Cancel'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    try {
      await call('PUT', `${GROUPS}/${encodeURIComponent(g.id)}`, { body: { name } });
      toast('Group renamed');
      loadGroups();
    } catch (err) {
      showError($('#groups-error'), `Could not rename: ${explain(err)}`);
    }
  });
  setContent(cell, form);
  input.focus();
  input.select();
}

async function remove(g) {
  if (!(await confirmDialog(`Delete the group "${g.name}"? Its files stay pinned; only the group goes.`, 'Delete group'))) return;
  try {
    await call('DELETE', `${GROUPS}/${encodeURIComponent(g.id)}`);
    toast('Group deleted');
    loadGroups();
  } catch (err) {
    showError($('#groups-error'), `Could not delete: ${explain(err)}`);
  }
}

// ---- One group's files -----------------------------------------------------

let group = null;

const filesPager = pager($('#group-more'),
  async (cursor) => {
    const d = await data(call('GET', FILES, { query: { group: group.id, limit: LIMIT, pageToken: cursor } }));
    return { items: d.files || [], next: d.next_page_token || '' };
  },
  (items, append) => {
    const tbody = $('#group-files tbody');
    if (!append) tbody.replaceChildren();
    tbody.append(...items.map(memberRow));
    const n = tbody.childElementCount;
    $('#group-empty').hidden = n > 0;
    $('#group-count').textContent = `${formatNumber(n)}${$('#group-more').hidden ? '' : '+'} ${n === 1 ? 'file' : 'files'}`;
  });

export async function loadGroup(id) {
  group = null;
  showError($('#group-error'), '');
  $('#group-files tbody').replaceChildren();
  $('#group-count').textContent = '';
  try {
    group = await data(call('GET', `${GROUPS}/${encodeURIComponent(id)}`));
  } catch (err) {
    $('#group-h').textContent = 'Group';
    showError($('#group-error'), `Could not load this group: ${explain(err)}`);
    return;
  }
  $('#group-h').textContent = group.name;
  try {
    await filesPager.reload();
  } catch (err) {
    showError($('#group-error'), `Could not list its files: ${explain(err)}`);
  }
}

function memberRow(f) {
  const name = f.name || '(unnamed)';
  const detail = `#file/${encodeURIComponent(f.id)}`;
  return el('tr', { 'data-id': f.id, 'data-cid': f.cid },
    td('Name', {}, el('a', { href: detail, class: 'file-link' }, name)),
    td('CID', {}, el('span', { class: 'cid' }, f.cid)),
    td('Size', { class: 'num' }, formatBytes(f.size)),
    td('Created', { class: 'num' }, formatDate(f.created_at)),
    el('td', {}, el('div', { class: 'row-actions' },
      el('a', { class: 'button small', href: detail }, 'Details'),
      copyButton(f.cid, 'Copy CID', 'CID copied'),
      can('pins:write') ? el('button', {
        type: 'button', class: 'small danger remove',
        onclick: async () => {
          if (!(await confirmDialog(`Remove ${name} from the group "${group.name}"? The file stays pinned.`, 'Remove'))) return;
          try {
            await call('DELETE', `${GROUPS}/${encodeURIComponent(group.id)}/ids/${encodeURIComponent(f.id)}`);
            toast('Removed from the group');
            loadGroup(group.id);
          } catch (err) {
            showError($('#group-error'), `Could not remove: ${explain(err)}`);
          }
        },
      }, 'Remove from group') : null)));
}

// ---- A file's groups (on its page) -----------------------------------------

// allGroups reads every group of the account, page by page.
async function allGroups() {
  const out = [];
  let cursor = '';
  do {
    const d = await data(call('GET', GROUPS, { query: { limit: 1000, pageToken: cursor } }));
    out.push(...(d.groups || []));
    cursor = d.next_page_token || '';
  } while (cursor);
  return out;
}

// inGroup tells whether the file (pin id, CID) is in group g: the group's
// files of that CID, which holds the file's own pin when it is a member.
async function inGroup(g, file) {
  const d = await data(call('GET', FILES, { query: { group: g.id, cid: file.cid, limit: 1000 } }));
  return (d.files || []).some((f) => f.id === file.id);
}

// FILE_GROUP_CHECKS bounds the membership checks a file's page runs at
// once, and FILE_GROUP_MAX how many groups it checks at all: the API has
// no list of one file's groups, so each group is one request.
const FILE_GROUP_CHECKS = 6;
const FILE_GROUP_MAX = 200;

let fileShown = null;

/** loadFileGroups fills the file page's Groups card for file {id, cid}. */
export async function loadFileGroups(file) {
  fileShown = file;
  const list = $('#file-groups');
  showError($('#file-group-error'), '');
  setContent(list, el('li', { class: 'muted' }, 'Loading…'));
  let groups;
  const member = new Set();
  try {
    groups = await allGroups();
    const queue = groups.slice(0, FILE_GROUP_MAX);
    await Promise.all(Array.from({ length: FILE_GROUP_CHECKS }, async () => {
      while (queue.length) {
        const g = queue.shift();
        if (await inGroup(g, file)) member.add(g.id);
      }
    }));
  } catch (err) {
    setContent(list, el('li', { class: 'error' }, explain(err)));
    return;
  }
  if (fileShown !== file) return; // another file's page was opened meanwhile
  const mine = groups.filter((g) => member.has(g.id));
  setContent(list, mine.length
    ? mine.map((g) => el('li', { 'data-group': g.id },
      el('a', { href: `#group/${encodeURIComponent(g.id)}` }, g.name), ' ',
      can('pins:write') ? el('button', {
        type: 'button', class: 'small danger', 'aria-label': `Remove from ${g.name}`,
        onclick: () => change('DELETE', g, file, 'Removed from the group'),
      }, 'Remove') : null))
    : [el('li', { class: 'muted' }, groups.length ? 'In no group.' : 'In no group. Create groups in the Groups view.')]);
  if (groups.length > FILE_GROUP_MAX) {
    list.append(el('li', { class: 'muted' }, `Only the ${FILE_GROUP_MAX} newest of ${formatNumber(groups.length)} groups were checked; a group's own page lists all its files.`));
  }
  const others = groups.filter((g) => !member.has(g.id));
  const pick = $('#file-group-pick');
  setContent(pick, others.length
    ? others.map((g) => el('option', { value: g.id }, g.name))
    : [el('option', { value: '' }, groups.length ? 'In every group already' : 'No groups yet')]);
  pick.disabled = others.length === 0;
  $('#file-group-form button').disabled = others.length === 0;
}

async function change(method, g, file, done) {
  try {
    await call(method, `${GROUPS}/${encodeURIComponent(g.id)}/ids/${encodeURIComponent(file.id)}`);
    toast(done);
    loadFileGroups(file);
  } catch (err) {
    showError($('#file-group-error'), `Could not change the file's groups: ${explain(err)}`);
  }
}

export function setupGroups() {
  $('#group-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#group-name').value.trim();
    if (!name) return;
    try {
      await call('POST', GROUPS, { body: { name } });
      $('#group-form').reset();
      showError($('#groups-error'), '');
      toast(`Group "${name}" created`);
      loadGroups();
    } catch (err) {
      showError($('#groups-error'), `Could not create the group: ${explain(err)}`);
    }
  });
  $('#groups-search').addEventListener('submit', (e) => {
    e.preventDefault();
    query = $('#groups-q').value.trim();
    loadGroups();
  });
  $('#file-group-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('#file-group-pick').value;
    if (!id || !fileShown) return;
    change('PUT', { id }, fileShown, 'Added to the group');
  });
}
