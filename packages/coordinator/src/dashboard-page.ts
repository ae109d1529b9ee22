// The dashboard's page: one self-contained HTML document (no external scripts, styles or fonts) that opens
// the server-sent event stream beside it and redraws as events arrive: the step counter and progress, charts
// of loss, accuracy, learning rate and the gradient noise scale, the last step's time breakdown, the workers
// (state, why, steps, compute and link times) and the evaluations. Text from the run (worker names, reasons)
// goes in with textContent only, never as markup.

const STYLE = `body{font:14px system-ui,sans-serif;margin:16px;color:#222}h1{font-size:18px;margin:0 0 4px}
.muted{color:#666}.grid{display:grid;grid-template-columns:repeat(2,minmax(300px,1fr));gap:12px;margin:12px 0}
canvas{width:100%;height:180px;border:1px solid #ddd;border-radius:4px}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}.ready{color:#1a7f37}.demoted{color:#b35900}
.lost{color:#c00;font-weight:600}#bar{height:8px;background:#eee;border-radius:4px}#fill{height:8px;background:#2f6feb;border-radius:4px;width:0}`;

const SCRIPT = `
const S = { run: null, points: [], evals: [], workers: new Map() };
const $ = (id) => document.getElementById(id);
const q = location.search;
const es = new EventSource('events' + q);
es.addEventListener('snapshot', (e) => { const d = JSON.parse(e.data); S.run = d.run; S.points = d.points; S.evals = d.evals;
  S.workers = new Map(d.workers.map((w) => [w.label, w])); S.grid = d.grid; draw(); });
es.addEventListener('grid', (e) => { S.grid = JSON.parse(e.data).grid; draw(); });
es.addEventListener('step', (e) => { const d = JSON.parse(e.data); S.points.push(d.point);
  if (S.points.length > 8000) S.points = S.points.filter((_, i) => i % 2 === 0);
  for (const w of d.workers) S.workers.set(w.label, w); draw(); });
es.addEventListener('eval', (e) => { S.evals.push(JSON.parse(e.data).record); draw(); });
es.addEventListener('worker', (e) => { const w = JSON.parse(e.data).worker; S.workers.set(w.label, w); draw(); });
es.addEventListener('status', (e) => { if (S.run) S.run.status = JSON.parse(e.data).status; draw(); });
es.onerror = () => { $('conn').textContent = 'disconnected (the run may have ended)'; };
es.onopen = () => { $('conn').textContent = 'live'; };
let pending = false;
function draw() { if (pending) return; pending = true; requestAnimationFrame(() => { pending = false; render(); }); }
function text(el, t) { el.textContent = t; return el; }
function cell(tr, t, cls) { const td = text(document.createElement('td'), t); if (cls) td.className = cls; tr.appendChild(td); }
function pct(v) { return v === null || v === undefined ? '-' : (100 * v).toFixed(2) + '%'; }
function renderGrid() {
  $('gridbox').style.display = S.grid ? '' : 'none'; if (!S.grid) return;
  const gt = $('grid'); gt.replaceChildren();
  for (const g of S.grid) { const tr = document.createElement('tr'); tr.dataset.run = g.name;
    cell(tr, g.name); cell(tr, g.state, g.state === 'running' ? 'ready' : ''); cell(tr, g.steps === null ? '-' : String(g.steps));
    cell(tr, g.stepsToTarget === null ? '-' : String(g.stepsToTarget)); cell(tr, pct(g.bestValAccuracy)); cell(tr, pct(g.testAccuracy)); gt.appendChild(tr); }
}
function render() {
  renderGrid();
  const r = S.run; if (!r) return;
  const last = S.points[S.points.length - 1];
  text($('title'), 'dtrain run ' + r.runId + ' (' + r.status + ')');
  text($('what'), r.model + ' on ' + r.dataset + ', batch ' + r.batchSize + ', ' + r.optimizer + ', ' + r.workersWanted + ' worker(s)');
  text($('step'), last ? String(last.step) : '0'); text($('total'), String(r.totalSteps));
  $('fill').style.width = (last ? (100 * last.step) / r.totalSteps : 0) + '%';
  text($('now'), last ? 'epoch ' + last.epoch.toFixed(2) + ' | ' + last.samplesPerSecond.toFixed(0) + ' samples/s | step ' +
    last.stepMs.toFixed(1) + ' ms: waiting for gradients ' + last.waitMs.toFixed(1) + ' ms, coordinator ' + last.coordMs.toFixed(1) + ' ms' : '');
  const ev = (split, key) => S.evals.filter((e) => e.split === split).map((e) => [e.step, e[key]]);
  chart('loss', [['train', S.points.map((p) => [p.step, p.loss]), '#2f6feb'], ['val', ev('val', 'loss'), '#d1242f']]);
  chart('acc', [['train', S.points.map((p) => [p.step, p.accuracy]), '#2f6feb'], ['val', ev('val', 'accuracy'), '#d1242f'],
    ['test', ev('test', 'accuracy'), '#1a7f37']]);
  chart('lr', [['lr', S.points.map((p) => [p.step, p.lr]), '#8250df']]);
  chart('noise', [['B_simple', S.points.filter((p) => p.bSimple !== null).map((p) => [p.step, p.bSimple]), '#b35900']]);
  const wt = $('workers'); wt.replaceChildren();
  for (const w of [...S.workers.values()].sort((a, b) => a.label.localeCompare(b.label))) {
    const tr = document.createElement('tr'); tr.dataset.worker = w.label;
    cell(tr, w.label); cell(tr, w.host); cell(tr, w.backend); cell(tr, w.state, w.state); cell(tr, w.why);
    cell(tr, String(w.steps)); cell(tr, String(w.shards)); cell(tr, String(w.samples));
    cell(tr, w.computeMs.toFixed(0)); cell(tr, w.downloadMs.toFixed(0)); cell(tr, w.uploadMs.toFixed(0));
    wt.appendChild(tr);
  }
  const et = $('evals'); et.replaceChildren();
  for (const e of S.evals.slice(-12).reverse()) { const tr = document.createElement('tr');
    cell(tr, String(e.step)); cell(tr, e.split); cell(tr, e.loss.toFixed(4)); cell(tr, (100 * e.accuracy).toFixed(2) + '%'); et.appendChild(tr); }
}
function chart(id, series) {
  const c = $(id), w = (c.width = c.clientWidth * devicePixelRatio), h = (c.height = c.clientHeight * devicePixelRatio), g = c.getContext('2d');
  const all = series.flatMap((s) => s[1]); if (!all.length) return;
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const px = (x) => 40 + ((x - x0) / (x1 - x0 || 1)) * (w - 50), py = (y) => h - 20 - ((y - y0) / (y1 - y0 || 1)) * (h - 30);
  g.font = 10 * devicePixelRatio + 'px sans-serif'; g.fillStyle = '#666';
  g.fillText(y1.toPrecision(3), 2, 12 * devicePixelRatio); g.fillText(y0.toPrecision(3), 2, h - 22);
  g.fillText('step ' + x1, w - 80 * devicePixelRatio, h - 4);
  series.forEach(([name, pts, color], i) => { g.strokeStyle = color; g.fillStyle = color; g.beginPath();
    pts.forEach(([x, y], j) => (j ? g.lineTo(px(x), py(y)) : g.moveTo(px(x), py(y)))); g.stroke();
    g.fillText(name, 50 + i * 60 * devicePixelRatio, 12 * devicePixelRatio); });
}`;

export function dashboardPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dtrain dashboard</title>
<meta name="viewport" content="width=device-width"><style>${STYLE}</style></head><body>
<div id="gridbox" style="display:none"><h2>runs</h2><table><thead><tr><th>run</th><th>state</th><th>steps</th>
<th>steps to target</th><th>best val</th><th>test</th></tr></thead><tbody id="grid"></tbody></table></div>
<h1 id="title">dtrain run</h1><div class="muted"><span id="what"></span> | <span id="conn">connecting</span></div>
<p>step <b id="step">0</b> / <span id="total">?</span></p><div id="bar"><div id="fill"></div></div><p id="now" class="muted"></p>
<div class="grid"><div>loss<canvas id="loss"></canvas></div><div>accuracy<canvas id="acc"></canvas></div>
<div>learning rate<canvas id="lr"></canvas></div><div>gradient noise scale B_simple<canvas id="noise"></canvas></div></div>
<h2>workers</h2><table><thead><tr><th>worker</th><th>host</th><th>backend</th><th>state</th><th>why</th><th>steps</th>
<th>shards</th><th>samples</th><th>compute ms</th><th>download ms</th><th>upload ms</th></tr></thead><tbody id="workers"></tbody></table>
<h2>evaluations</h2><table><thead><tr><th>step</th><th>split</th><th>loss</th><th>accuracy</th></tr></thead><tbody id="evals"></tbody></table>
<script>${SCRIPT}</script></body></html>`;
}
