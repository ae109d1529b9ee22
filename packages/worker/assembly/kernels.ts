// SIMD kernels for tfjs' wasm backend (AssemblyScript, built by `asc`; see asconfig.json).
// The module imports the backend's WebAssembly.Memory: every pointer is a byte offset into tfjs-wasm's
// heap and every tensor is float32 NHWC. The module has no data segments and allocates nothing, so
// sharing that memory is safe (a test checks the built binary has no data section).
// One module per kernel family; this entry re-exports what the worker calls (wasm-kernels.ts).

export { maxPoolGrad } from './pooling';
export { padCopy, cropCopy } from './copy';
export { conv2dInputGrad } from './conv-input-grad';
export { conv2dFilterGrad } from './conv-filter-grad';
export { sumRows, reluGrad } from './elementwise';
export { conv2dForward } from './conv-forward';
// Exported only so that Binaryen keeps it a function of its own: inlined into conv2dForward (which it does
// to the smaller FMA build), V8 allocated the merged loops' registers badly and the FMA forward ran 2.5x
// slower than the baseline (measured with both builds side by side on conv2 of the reference CNN).
export { forward4x8 } from './conv-forward';
export { batchNormTrain, batchNormGrad } from './batch-norm';
export { weightDeltaInt8, applyDeltaInt8, compressGradInt8, expandInt8 } from './quantize';
