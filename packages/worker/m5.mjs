import { instantiateKernels } from './dist/src/wasm-kernels.js';
const mem = new WebAssembly.Memory({ initial: 2048 });
const k = instantiateKernels(mem);
const f = new Float32Array(mem.buffer); for (let i = 0; i < 4e6; i++) f[i] = Math.sin(i);
// small conv: n=4, 15x15x32 -> 13x13x64 : fits in L2
const size = process.argv[2] === 'big' ? 64 : 2;
const xp = 0, dy = 4 * 16e6 / 4 * 0 + 8e6, dw = 15e6;
const t0 = performance.now(); let it = 0;
while (performance.now() - t0 < 15000) { k.conv2dFilterGrad(xp, dy, dw, size, 15, 15, 32, 13, 13, 64, 3, 3, 1, 1); it++; }
const ms = (performance.now() - t0) / it;
console.log(process.argv[2], 'GFLOP/s', (size * 13 * 13 * 64 * 288 * 2 / ms / 1e6).toFixed(1));
