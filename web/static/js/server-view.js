// The Server view (scope admin): the account's usage (GET /admin/status,
// bytes with each CID counted once), its quota (GET and PUT
// /admin/accounts/{account}/quota), garbage collection (POST /admin/gc)
// with its result, and the node.
import { call, explain, session } from './session.js';
import { el, $, td, setContent, showError, formatBytes, formatNumber, copyButton, confirmDialog } from './util.js';

const stat = (label, value, id) => el('div', { class: 'stat' }, el('div', { class: 'value', id }, value), el('div', { class: 'label' }, label));

export async function loadServer() {
  try {
    const s = await call('GET', '/admin/status');
    showError($('#server-error'), '');
    const st = s.storage || {};
    setContent($('#usage-stats'),
      stat('Pinned', formatNumber(st.pins), 'usage-pins'),
      stat('Stored (each CID once)', formatBytes(st.bytes), 'usage-bytes'),
      stat('Records (any status)', formatNumber(st.records), 'usage-records'),
      stat('Pin requests in the queue', formatNumber(st.queued), 'usage-queued'),
      stat('Fetches running (server)', formatNumber((s.queue || {}).running), 'usage-running'),
      stat('Connected peers', formatNumber(s.peers)));
    const row = (k, ...v) => [el('dt', {}, k), el('dd', {}, ...v)];
    setContent($('#server-info'),
      row('Version', s.version || 'dev'),
      row('Account', `${session.who.accountName} (${session.who.accountId})`),
      row('Peer ID', el('span', { class: 'cid', id: 'server-peer' }, s.peerId || '–'), ' ', s.peerId ? copyButton(s.peerId, 'Copy', 'Peer ID copied') : null),
      row('Listen addresses', (s.addrs || []).length
        ? el('ul', { class: 'plain' }, (s.addrs || []).map((a) => el('li', { class: 'cid' }, a)))
        : 'none (offline)'));
  } catch (err) {
    showError($('#server-error'), `Could not load the status: ${explain(err)}`);
  }
  loadQuota();
}

const quotaPath = () => `/admin/accounts/${encodeURIComponent(session.who.accountId)}/quota`;

// limitText shows an effective limit (0 or -1: none) or an override (0:
// the server's default).
const limitText = (n, bytes, override) => {
  if (n === -1) return 'unlimited';
  if (!n) return override ? 'default' : 'unlimited';
  return bytes ? formatBytes(n) : formatNumber(n);
};

function renderQuota(q) {
  const rows = [
    ['Stored bytes', q.usage.bytes, q.effective.maxStoredBytes, q.override.maxStoredBytes, true],
    ['Pins', q.usage.pins, q.effective.maxPins, q.override.maxPins, false],
    ['Queued pin requests', q.usage.queued, q.effective.maxQueued, q.override.maxQueued, false],
    ['Bytes per fetch', null, q.effective.maxFetchBytes, q.override.maxFetchBytes, true],
  ];
  setContent($('#quota-table tbody'), rows.map(([name, used, eff, over, bytes]) => {
    const pct = used !== null && eff > 0 ? Math.min(100, Math.round((100 * used) / eff)) : null;
    return el('tr', {},
      td('Limit', {}, name),
      td('Used', { class: 'num' }, used === null ? '–' : bytes ? formatBytes(used) : formatNumber(used),
        pct !== null ? el('meter', { min: 0, max: 100, value: pct, high: 90, 'aria-label': `${name}: ${pct}% of the limit` }) : null),
      td('Effective limit', { class: 'num' }, limitText(eff, bytes, false)),
      td('This account\'s override', { class: 'num' }, limitText(over, bytes, true)));
  }));
}

async function loadQuota() {
  try {
    renderQuota(await call('GET', quotaPath()));
    showError($('#quota-error'), '');
  } catch (err) {
    showError($('#quota-error'), `Could not load the quota: ${explain(err)}`);
  }
}

async function saveQuota(e) {
  e.preventDefault();
  const body = {};
  for (const [id, field] of [['#q-bytes', 'maxStoredBytes'], ['#q-pins', 'maxPins'], ['#q-queued', 'maxQueued'], ['#q-fetch', 'maxFetchBytes']]) {
    const v = $(id).value.trim();
    if (v) body[field] = /^-?\d+$/.test(v) ? Number(v) : v;
  }
  $('#quota-saved').hidden = true;
  if (Object.keys(body).length === 0) {
    showError($('#quota-error'), 'Fill in at least one limit ("default" returns to the server\'s).');
    return;
  }
  try {
    renderQuota(await call('PUT', quotaPath(), { body }));
    showError($('#quota-error'), '');
    $('#quota-form').reset();
    $('#quota-saved').textContent = 'Quota saved.';
    $('#quota-saved').hidden = false;
  } catch (err) {
    showError($('#quota-error'), `Could not save the quota: ${explain(err)}`);
  }
}

async function runGC() {
  if (!(await confirmDialog('Run garbage collection now? Blocks no pin references are deleted for good.', 'Run'))) return;
  const btn = $('#gc-run');
  btn.disabled = true;
  $('#gc-result').hidden = true;
  try {
    const r = await call('POST', '/admin/gc');
    showError($('#gc-error'), '');
    $('#gc-result').textContent = `Freed ${formatNumber(r.blocksFreed)} ${r.blocksFreed === 1 ? 'block' : 'blocks'}, ` +
      `${formatBytes(r.bytesFreed)} (${formatNumber(r.liveRoots)} live roots kept, ${r.durationMs.toFixed(0)} ms).`;
    $('#gc-result').hidden = false;
    loadServer();
  } catch (err) {
    showError($('#gc-error'), `Garbage collection failed: ${explain(err)}`);
  } finally {
    btn.disabled = false;
  }
}

export function setupServer() {
  $('#gc-run').addEventListener('click', runGC);
  $('#quota-form').addEventListener('submit', saveQuota);
}
