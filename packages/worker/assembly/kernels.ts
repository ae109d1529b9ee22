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
export { conv2dForward, forward4x8 } from './conv-forward';
