// The Pin by CID view: a form for POST /pin (with origins) and the queue
// of requests not pinned yet (GET /psa/pins?status=queued,pinning,failed),
// with each failure's reason and a cancel (DELETE /psa/pins/{id}, which
// also stops a fetch in flight).
import { call, can, explain } from './session.js';
import { el, $, td, setContent, showError, formatDate, formatNumber, confirmDialog, toast, splitList } from './util.js';

const PAGE = 50;
const POLL = 2000;
let rows = [];
let timer = null;

function visible() { return !$('#view-pins').hidden; }

export async function loadQueue(append = false) {
  clearTimeout(timer);
  const query = { status: 'queued,pinning,failed', limit: PAGE };
  if (append && rows.length) query.before = rows[rows.length - 1].created;
  try {
    const res = await call('GET', '/psa/pins', { query });
    showError($('#queue-error'), '');
    const got = res.results || [];
    rows = append ? rows.concat(got) : got;
    setContent($('#queue-table tbody'), rows.map(queueRow));
    $('#queue-empty').hidden = rows.length > 0;
    $('#queue-count').textContent = `${formatNumber(res.count)} ${res.count === 1 ? 'request' : 'requests'}`;
    $('#queue-more').hidden = rows.length >= res.count || got.length < PAGE;
    // Requests in flight change by themselves: follow them while shown.
    if (rows.some((p) => p.status !== 'failed') && visible()) timer = setTimeout(() => { if (visible()) loadQueue(); }, POLL);
  } catch (err) {
    showError($('#queue-error'), `Could not load the queue: ${explain(err)}`);
  }
}

function queueRow(p) {
  const name = p.pin.name || '(unnamed)';
  const reason = (p.info && p.info.status_details) || '';
  const label = p.status === 'failed' ? 'Remove' : 'Cancel';
  const action = can('pins:write') ? el('button', {
    type: 'button', class: 'small danger',
    onclick: async () => {
      const q = p.status === 'failed' ? `Remove the failed request for ${p.pin.cid}?` : `Cancel pinning ${p.pin.cid}? A fetch in progress stops at once.`;
      if (!(await confirmDialog(q, label))) return;
      try {
        await call('DELETE', `/psa/pins/${encodeURIComponent(p.requestid)}`);
        toast(p.status === 'failed' ? 'Request removed' : 'Pin canceled');
        loadQueue();
      } catch (err) {
        showError($('#queue-error'), `Could not cancel: ${explain(err)}`);
      }
    },
  }, label) : null;
  return el('tr', { 'data-id': p.requestid, 'data-cid': p.pin.cid, 'data-status': p.status },
    td('Name', {}, name, p.pin.origins && p.pin.origins.length ? el('div', { class: 'muted' }, `${p.pin.origins.length} origin${p.pin.origins.length > 1 ? 's' : ''}`) : null),
    td('CID', {}, el('span', { class: 'cid' }, p.pin.cid)),
    td('Status', {}, el('span', { class: `badge ${p.status}` }, p.status)),
    td('Requested', { class: 'num' }, formatDate(p.created)),
    td('Reason', { class: 'reason' }, reason || (p.status === 'failed' ? 'unknown' : '–')),
    el('td', {}, action));
}

export function setupPins() {
  $('#queue-refresh').addEventListener('click', () => loadQueue());
  $('#queue-more').addEventListener('click', () => loadQueue(true));
  $('#pin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const cid = $('#pin-cid').value.trim();
    const body = { cid, name: $('#pin-name').value.trim() || undefined };
    const origins = splitList($('#pin-origins').value);
    if (origins.length) body.origins = origins;
    $('#pin-done').hidden = true;
    try {
      const st = await call('POST', '/pin', { body });
      showError($('#pin-error'), '');
      $('#pin-done').textContent = st.status === 'pinned'
        ? `${cid} is pinned (its data was here already).`
        : `${cid} is ${st.status}: it stays in the queue below until its DAG is fetched.`;
      $('#pin-done').hidden = false;
      $('#pin-form').reset();
      loadQueue();
    } catch (err) {
      showError($('#pin-error'), `Could not pin: ${explain(err)}`);
    }
  });
}
