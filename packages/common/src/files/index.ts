// @dtrain/common/files: everything in common that touches the file system. The core (@dtrain/common)
// never imports from here.

export * from './build-dataset.js';
export * from './cifar-files.js';
export * from './folder-dataset.js';
export * from './image-files.js';
export * from './make-dir.js';
export * from './model-file.js';
export * from './synthetic-files.js';
export * from './write-atomic.js';
