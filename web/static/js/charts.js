// Inline SVG charts: a bar chart and a line chart over daily points. They
// are drawn at the container's pixel width (and redrawn by the caller on
// resize) so labels stay legible on a phone. Colours come from the
// stylesheet's classes; no style attributes (CSP).

const NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(container, points, { format, title, binary }) {
  const width = Math.max(280, Math.floor(container.clientWidth || 600));
  const height = 200;
  const pad = { l: 56, r: 12, t: 10, b: 26 };
  const top = Math.max(0, ...points.map((p) => p.value));
  // Byte axes round to 1, 2 or 5 of a binary unit, so ticks read "2 MB".
  const unit = binary && top > 0 ? 1024 ** Math.floor(Math.log(top) / Math.log(1024)) : 1;
  const max = niceMax(top / unit) * unit;
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title });
  svg.append(svgEl('title', {}, title));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const y = (v) => pad.t + plotH - (plotH * v) / max;
  // The middle tick is left out when it would read like an end one (a
  // count axis up to 1 has no "0.5 uploads").
  const ticks = [0, 0.5, 1].filter((f) => f !== 0.5 || (format(max / 2) !== format(0) && format(max / 2) !== format(max)));
  for (const f of ticks) {
    const yy = y(max * f);
    svg.append(svgEl('line', { class: 'axis', x1: pad.l, x2: width - pad.r, y1: yy, y2: yy }));
    svg.append(svgEl('text', { class: 'tick', x: pad.l - 6, y: yy + 4, 'text-anchor': 'end' }, format(max * f)));
  }
  // Date labels: first, middle and last, enough at any width.
  const n = points.length;
  const x = (i) => pad.l + (plotW * (i + 0.5)) / Math.max(n, 1);
  const labelIdx = n <= 1 ? [0] : [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  for (const i of labelIdx) {
    if (!points[i]) continue;
    const anchor = i === 0 && n > 1 ? 'start' : i === n - 1 && n > 1 ? 'end' : 'middle';
    const xx = anchor === 'start' ? pad.l : anchor === 'end' ? width - pad.r : x(i);
    svg.append(svgEl('text', { class: 'tick', x: xx, y: height - 8, 'text-anchor': anchor }, points[i].label));
  }
  return { svg, x, y, plotW, n, pad, height };
}

// barChart draws one bar per point ({label, value}).
export function barChart(container, points, { format = String, title = '', alt = false, binary = false } = {}) {
  const f = frame(container, points, { format, title, binary });
  const bw = Math.max(1, (f.plotW / Math.max(f.n, 1)) * 0.7);
  points.forEach((p, i) => {
    const top = f.y(p.value);
    const bar = svgEl('rect', {
      class: alt ? 'bar alt' : 'bar', x: f.x(i) - bw / 2, y: top,
      width: bw, height: Math.max(0, f.y(0) - top),
    });
    bar.append(svgEl('title', {}, `${p.label}: ${format(p.value)}`));
    f.svg.append(bar);
  });
  container.replaceChildren(f.svg);
}

// lineChart draws a line with a shaded area under it.
export function lineChart(container, points, { format = String, title = '', binary = false } = {}) {
  const f = frame(container, points, { format, title, binary });
  if (points.length > 0) {
    const coords = points.map((p, i) => `${f.x(i).toFixed(1)},${f.y(p.value).toFixed(1)}`);
    const base = f.y(0).toFixed(1);
    f.svg.append(svgEl('polygon', { class: 'area', points: `${f.x(0).toFixed(1)},${base} ${coords.join(' ')} ${f.x(points.length - 1).toFixed(1)},${base}` }));
    f.svg.append(svgEl('polyline', { class: 'line', points: coords.join(' ') }));
    points.forEach((p, i) => {
      const dot = svgEl('circle', { class: 'dot', cx: f.x(i), cy: f.y(p.value), r: points.length > 40 ? 1.5 : 3 });
      dot.append(svgEl('title', {}, `${p.label}: ${format(p.value)}`));
      f.svg.append(dot);
    });
  }
  container.replaceChildren(f.svg);
}
