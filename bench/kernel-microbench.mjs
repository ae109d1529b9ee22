// Per-kernel timing of dtrain's wasm kernel builds side by side (the reference CNN's three conv layers at batch
// 64: forward, filter gradient, input gradient), alternating the builds over 7 rounds, median per cell.
// Usage: node --no-liftoff bench/kernel-microbench.mjs packages/worker/dist/kernels.wasm packages/worker/dist/kernels-fma.wasm
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const files = process.argv.slice(2);
const mem = new WebAssembly.Memory({ initial: 1024 });
const mods = Object.fromEntries(files.map((f) => [f.split('/').pop(), new WebAssembly.Instance(new WebAssembly.Module(readFileSync(f)), { env: { memory: mem } }).exports]));
const f32 = new Float32Array(mem.buffer);
for (let i = 0; i < f32.length; i++) f32[i] = Math.sin(i) * 0.1;
const layers = { conv1: [64, 32, 32, 3, 30, 30, 32], conv2: [64, 15, 15, 32, 13, 13, 64], conv3: [64, 6, 6, 64, 4, 4, 64] };
const XP = 0, W = 16 << 20, B = 17 << 20, WT = 18 << 20, DXP = 20 << 20, DY = 32 << 20, DW = 19 << 20, Y2 = 44 << 20;
const res = {};
for (let rep = 0; rep < 7; rep++) for (const [ln, [n, hp, wp, c, oh, ow, co]] of Object.entries(layers)) {
  const flop = 2 * n * oh * ow * co * 9 * c;
  const ops = {
    fwd: (m) => m.conv2dForward.length === 17 ? m.conv2dForward(XP, W, 22 << 20, B, Y2, n, hp, wp, c, oh, ow, co, 3, 3, 1, 1, 1) : m.conv2dForward(XP, W, B, Y2, n, hp, wp, c, oh, ow, co, 3, 3, 1, 1, 1),
    filt: (m) => m.conv2dFilterGrad(XP, DY, DW, n, hp, wp, c, oh, ow, co, 3, 3, 1, 1),
    inp: (m) => m.conv2dInputGrad(DY, W, WT, DXP, n, hp, wp, c, oh, ow, co, 3, 3, 1, 1),
  };
  for (const [on, op] of Object.entries(ops)) for (const [mn, m] of (rep % 2 ? Object.entries(mods) : Object.entries(mods).reverse())) {
    for (let i = 0; i < 2; i++) op(m);
    const t = performance.now(); for (let i = 0; i < 5; i++) op(m); const ms = (performance.now() - t) / 5;
    (res[`${ln} ${on} ${mn}`] ??= { v: [], flop }).v.push(ms);
  }
}
for (const [key, { v, flop }] of Object.entries(res)) { v.sort((a, b) => a - b); const med = v[3]; console.log(key.padEnd(30), med.toFixed(2).padStart(7), 'ms', (flop / med / 1e6).toFixed(1).padStart(6), 'GFLOP/s'); }
