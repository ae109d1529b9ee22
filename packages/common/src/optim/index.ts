export { adaptiveStep } from './adaptive.js';
export { clipGlobalNorm } from './clip.js';
export * from './config.js';
export { larsStep } from './lars.js';
export { Optimizer, stateNames } from './optimizer.js';
export { type Segment, segmentNorm, segmentsOf } from './segments.js';
export { sgdStep } from './sgd.js';
