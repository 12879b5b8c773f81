// The Files view: the account's pins newest first (GET /upload/list),
// searchable by name or CID, paged, with bulk unpin for pins:write.
import { call, can, explain } from './session.js';
import {
  el, $, $$, td, setContent, showError, formatBytes, formatNumber, formatDate,
  copyButton, confirmDialog, toast, looksLikeCID, gatewayPath,
} from './util.js';

const PAGE = 25;
const state = { cursors: [''], page: 0, q: '', rows: [] };

export async function loadFiles() {
  const query = { limit: PAGE, before: state.cursors[state.page] };
  if (state.q) query[looksLikeCID(state.q) ? 'cid' : 'name'] = state.q;
  try {
    const res = await call('GET', '/upload/list', { query });
    showError($('#files-error'), '');
    state.rows = res.uploads || [];
    setContent($('#files-table tbody'), state.rows.map(fileRow));
    $('#files-empty').hidden = state.rows.length > 0;
    $('#files-empty').textContent = state.q ? 'No files match.' : 'No files yet.';
    $('#files-count').textContent = `${formatNumber(res.count)} ${res.count === 1 ? 'file' : 'files'}`;
    state.cursors[state.page + 1] = state.rows.length ? state.rows[state.rows.length - 1].created : '';
    $('#files-newer').disabled = state.page === 0;
    $('#files-older').disabled = state.rows.length < PAGE || state.page * PAGE + state.rows.length >= res.count;
    $('#files-all').checked = false;
    updateBulk();
  } catch (err) {
    showError($('#files-error'), `Could not load files: ${explain(err)}`);
  }
}

function fileRow(u) {
  const name = u.name || '(unnamed)';
  const detail = `#file/${encodeURIComponent(u.id)}`;
  const select = can('pins:write')
    ? el('td', { class: 'sel' }, el('input', { type: 'checkbox', class: 'pick', 'aria-label': `Select ${name}`, onchange: updateBulk }))
    : null;
  const unpin = can('pins:write') ? el('button', {
    type: 'button', class: 'small danger',
    onclick: () => unpinRecords([u], `Unpin ${name} (${u.cid})?`),
  }, 'Unpin') : null;
  return el('tr', { 'data-cid': u.cid, 'data-id': u.id },
    select,
    td('Name', {}, el('a', { href: detail, class: 'file-link' }, name), u.description ? el('div', { class: 'muted' }, u.description) : null),
    td('CID', {}, el('span', { class: 'cid' }, u.cid)),
    // A pin by CID has a size once its DAG is here.
    td('Size', { class: 'num' }, u.size || u.status === 'pinned' ? formatBytes(u.size) : '–'),
    td('Created', { class: 'num' }, formatDate(u.created)),
    td('Status', {}, el('span', { class: `badge ${u.status}` }, u.status)),
    el('td', {}, el('div', { class: 'row-actions' },
      el('a', { class: 'button small', href: detail }, 'Details'),
      copyButton(u.cid, 'Copy CID', 'CID copied'),
      el('a', { class: 'button small', href: gatewayPath(u.cid), target: '_blank', rel: 'noopener' }, 'Open'),
      unpin)));
}

function selected() {
  const ids = new Set($$('#files-table tbody tr').filter((tr) => tr.querySelector('.pick:checked')).map((tr) => tr.dataset.id));
  return state.rows.filter((u) => ids.has(u.id));
}

function updateBulk() {
  const n = selected().length;
  const btn = $('#files-unpin');
  btn.disabled = n === 0;
  btn.textContent = n ? `Unpin selected (${n})` : 'Unpin selected';
}

// unpinRecords removes exactly these records (DELETE /psa/pins/{id}), not
// every pin of their CIDs: another record of the same CID keeps its data.
export async function unpinRecords(records, question, { after = loadFiles, errorNode = $('#files-error') } = {}) {
  const tail = ' Their data goes at the next garbage collection unless another pin still holds it.';
  const names = records.length > 1 ? records.map((u) => `${u.name || '(unnamed)'} — ${u.cid}`) : [];
  if (!(await confirmDialog(question + tail, records.length > 1 ? `Unpin ${records.length}` : 'Unpin', names))) return false;
  const failed = [];
  for (const u of records) {
    try {
      await call('DELETE', `/psa/pins/${encodeURIComponent(u.id)}`);
    } catch (err) {
      failed.push(`${u.name || u.cid}: ${explain(err)}`);
    }
  }
  const done = records.length - failed.length;
  if (done) toast(`Unpinned ${done} ${done === 1 ? 'file' : 'files'}`);
  showError(errorNode, failed.length ? `Could not unpin ${failed.join('; ')}` : '');
  await after();
  return failed.length === 0;
}

export function setupFiles() {
  $('#files-search').addEventListener('submit', (e) => {
    e.preventDefault();
    state.q = $('#files-q').value.trim();
    state.cursors = [''];
    state.page = 0;
    loadFiles();
  });
  $('#files-older').addEventListener('click', () => { state.page++; loadFiles(); });
  $('#files-newer').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); loadFiles(); });
  $('#files-all').addEventListener('change', (e) => {
    for (const c of $$('#files-table .pick')) c.checked = e.target.checked;
    updateBulk();
  });
  $('#files-unpin').addEventListener('click', () => {
    const rows = selected();
    if (rows.length) unpinRecords(rows, `Unpin these ${rows.length} files?`);
  });
}
