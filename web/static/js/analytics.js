// The Analytics view (GET /analytics, scope analytics:read): totals, uploads
// per day, storage growth, gateway traffic and file types, for the account
// or one key's or token's prefix.
import { call, can, explain } from './session.js';
import { barChart, lineChart } from './charts.js';
import { el, $, setContent, showError, formatBytes, formatNumber } from './util.js';

const isoDay = (d) => d.toISOString().slice(0, 10);
let lastAnalytics = null;

async function loadAnalyticsFilter() {
  const sel = $('#an-key');
  const current = sel.value;
  const opts = [el('option', { value: '' }, 'All keys and tokens')];
  // Each list needs its own scope; what the session may not list is left
  // out, and the prefix filter still works for what is there.
  const list = (ok, path) => (ok ? call('GET', path, { query: { limit: 200 } }).catch(() => []) : Promise.resolve([]));
  const [keys, tokens, signing] = await Promise.all([list(can('admin'), '/admin/keys'),
    list(can('tokens:write'), '/signed-tokens'), list(can('tokens:write'), '/upload-signing-keys')]);
  for (const k of keys || []) opts.push(el('option', { value: k.prefix }, `Key: ${k.name} (${k.prefix}…)`));
  for (const t of tokens || []) opts.push(el('option', { value: t.tokenPrefix }, `Token: ${t.tokenName || t.tokenPrefix} (${t.tokenPrefix}…)`));
  for (const k of signing || []) opts.push(el('option', { value: k.kid.slice(0, 12) }, `Signing key: ${k.name || k.kid} (${k.kid.slice(0, 12)}…)`));
  setContent(sel, opts);
  sel.value = current;
}

export async function loadAnalytics() {
  if (!$('#an-from').value) {
    const to = new Date();
    const from = new Date(to.getTime() - 29 * 86400e3);
    $('#an-from').value = isoDay(from);
    $('#an-to').value = isoDay(to);
    await loadAnalyticsFilter();
  }
  const query = { from: $('#an-from').value, to: $('#an-to').value, apiKey: $('#an-key').value };
  try {
    const res = await call('GET', '/analytics', { query });
    showError($('#an-error'), '');
    lastAnalytics = res;
    drawAnalytics(res);
  } catch (err) {
    showError($('#an-error'), `Could not load analytics: ${explain(err)}`);
  }
}

// days lists every date of the chosen range, so days without events show
// as zero instead of being skipped.
function days() {
  const out = [];
  const from = new Date(`${$('#an-from').value}T00:00:00Z`);
  const to = new Date(`${$('#an-to').value}T00:00:00Z`);
  for (let d = from; d <= to && out.length < 1000; d = new Date(d.getTime() + 86400e3)) out.push(isoDay(d));
  return out;
}

function drawAnalytics(res) {
  const t = res.totals || {};
  const stat = (label, value) => el('div', { class: 'stat' }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
  setContent($('#an-totals'),
    stat('Uploads', formatNumber(t.uploads)),
    stat('Bytes uploaded', formatBytes(t.bytesUploaded || 0)),
    stat('Storage', formatBytes(t.storageBytes || 0)),
    stat('Pins', formatNumber(t.pins)),
    stat('Gateway traffic', formatBytes(t.gatewayBytes || 0)),
    stat('Requests', formatNumber(t.requests)));

  const range = days();
  const label = (d) => d.slice(5);
  const daily = new Map((res.daily || []).map((d) => [d.date, d]));
  barChart($('#ch-uploads'), range.map((d) => ({ label: label(d), value: (daily.get(d) || {}).uploads || 0 })),
    { title: 'Uploads per day', format: (v) => formatNumber(Math.round(v)) });
  barChart($('#ch-gateway'), range.map((d) => ({ label: label(d), value: (daily.get(d) || {}).gatewayBytes || 0 })),
    { title: 'Gateway bytes served per day', format: formatBytes, alt: true, binary: true });
  // Storage is a running level: carry the last known value over days
  // without a point.
  const growth = new Map((res.storageGrowth || []).map((d) => [d.date, d.bytes]));
  let level = 0;
  for (const d of res.storageGrowth || []) if (d.date < range[0]) level = d.bytes;
  lineChart($('#ch-storage'), range.map((d) => {
    if (growth.has(d)) level = growth.get(d);
    return { label: label(d), value: level };
  }), { title: 'Storage used', format: formatBytes, binary: true });

  const types = Object.entries(t.fileTypes || {}).sort((a, b) => b[1] - a[1]);
  setContent($('#an-types tbody'), types.length
    ? types.map(([type, n]) => el('tr', {}, el('td', { 'data-label': 'Type' }, type), el('td', { 'data-label': 'Uploads' }, formatNumber(n))))
    : [el('tr', {}, el('td', { colspan: 2, class: 'muted' }, 'No uploads in this range.'))]);
}

// redrawAnalytics draws the last report again, at the view's current
// width: the window may have been resized while another view was shown.
export function redrawAnalytics() {
  if (lastAnalytics) drawAnalytics(lastAnalytics);
}

export function setupAnalytics() {
  $('#an-form').addEventListener('submit', (e) => { e.preventDefault(); loadAnalytics(); });
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (lastAnalytics && !$('#view-analytics').hidden) drawAnalytics(lastAnalytics); }, 150);
  });
}

