// Public surface of @dtrain/coordinator.

export { Admission, type AdmissionLimits } from './admission.js';
export {
  CHECKPOINT_FORMAT,
  checkpointModelSpec,
  checkpointName,
  listCheckpoints,
  type ModelInputs,
  readCheckpoint,
  readCheckpointState,
  type StartState,
  startState,
  writeCheckpoint,
} from './checkpoint.js';
export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export { Dashboard, type DashboardOptions, MAX_VIEWERS } from './dashboard.js';
export type { GridRow } from './dashboard-state.js';
export { AdaptiveDeadline } from './deadline.js';
export { PlateauWatch } from './plateau.js';
export {
  type EvalRound,
  type PoolEvents,
  type PoolOptions,
  type RoundOutcome,
  type RunPool,
  type StepRound,
  WorkerPool,
} from './pool.js';
export { readyLine } from './pool-events.js';
export { Round, type RoundTask } from './round.js';
export { RunLog } from './run-log.js';
export {
  clearRunDir,
  defaultRunDir,
  type EvalRecord,
  type MetricRecord,
  RunDir,
  readMetrics,
  type StepRecord,
} from './rundir.js';
export { CoordinatorServer, type RunWelcome, type ServerTls, type WorkerConn } from './server.js';
export { openSoloRun, type SoloRun, type SoloRunOptions } from './solo.js';
export { linkTimes, samplesDigest } from './step-stats.js';
export { isOutcome, type RunSummary, readSummary } from './summary.js';
export { evalTasks, stepTasks } from './tasks.js';
export { type Arrival, TraceWriter } from './trace.js';
export { type Publication, WeightView } from './weight-view.js';
export { type WeightsFrame, WeightsFrames } from './weights-frame.js';
export { readIntoOneBuffer } from './ws-conn.js';
