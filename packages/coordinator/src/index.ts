// Public surface of @dtrain/coordinator.
export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export { WorkerPool, type PoolEvents, type PoolOptions, type RoundOutcome, type StepRound, type EvalRound, type RunPool } from './pool.js';
export { openSoloRun, type SoloRun, type SoloRunOptions } from './solo.js';
export { CoordinatorServer, type WorkerConn, type RunWelcome, type ServerTls } from './server.js';
export { Admission, type AdmissionLimits } from './admission.js';
export { Round, type RoundTask } from './round.js';
export { AdaptiveDeadline } from './deadline.js';
export {
  checkpointModelSpec, readCheckpoint, writeCheckpoint, listCheckpoints, checkpointName, startState, CHECKPOINT_FORMAT, type StartState,
} from './checkpoint.js';
export { RunLog } from './run-log.js';
export { RunDir, clearRunDir, defaultRunDir, readMetrics, type StepRecord, type EvalRecord, type MetricRecord } from './rundir.js';
export { isOutcome, readSummary, type RunSummary } from './summary.js';
export { WeightsFrames, type WeightsFrame } from './weights-frame.js';
export { linkTimes, samplesDigest } from './step-stats.js';
export { evalTasks, stepTasks } from './tasks.js';
export { PlateauWatch } from './plateau.js';
