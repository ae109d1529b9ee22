// Public surface of @dtrain/common: the pure core (no sockets, timers, files or process control).
// File access is the subpath @dtrain/common/files.

export * from './augment.js';
export * from './auth.js';
export * from './averaging.js';
export * from './balance.js';
export * from './cifar.js';
export * from './cifar100.js';
export * from './codec.js';
export * from './compress.js';
export * from './config.js';
export * from './data.js';
export * from './datasets.js';
export * from './digest.js';
export * from './epoch-cursor.js';
export * from './errors.js';
export * from './frame-pool.js';
export * from './group-reducer.js';
export * from './group-tree.js';
export * from './keras-layers.js';
export * from './keras-topology.js';
export * from './limits.js';
export * from './line-limit.js';
export * from './model.js';
export * from './model-check.js';
export * from './noise-scale.js';
export * from './optim/index.js';
export * from './protocol.js';
export * from './rng.js';
export * from './schedule.js';
export * from './session.js';
export * from './sharding.js';
export * from './slices.js';
export * from './stats.js';
export * from './synthetic.js';
export * from './tfevents.js';
export * from './weight-delta.js';
