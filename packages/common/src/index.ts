// Public surface of @dtrain/common.
export * from './errors.js';
export * from './limits.js';
export * from './rng.js';
export * from './model.js';
export * from './optimizer.js';
export * from './schedule.js';
export * from './sharding.js';
export * from './averaging.js';
export * from './data.js';
export * from './synthetic.js';
export * from './datasets.js';
export * from './protocol.js';
export * from './codec.js';
export * from './config.js';
export * from './cifar.js';
export * from './cifar-files.js';
export * from './noise-scale.js';
