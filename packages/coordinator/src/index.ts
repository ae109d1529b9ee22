// Public surface of @dtrain/coordinator.
export { Coordinator, type CoordinatorOptions, type CoordinatorState } from './coordinator.js';
export { CoordinatorServer, type WorkerConn } from './server.js';
export { Round } from './round.js';
export { readCheckpoint, writeCheckpoint, listCheckpoints, checkpointName, CHECKPOINT_FORMAT } from './checkpoint.js';
export { RunDir, defaultRunDir, readMetrics, type StepRecord, type EvalRecord, type MetricRecord } from './rundir.js';
export { median, percentile, type RunSummary } from './summary.js';
export { WeightsFrames, type WeightsFrame } from './weights-frame.js';
