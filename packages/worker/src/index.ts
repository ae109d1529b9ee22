// Public surface of @dtrain/worker.
export {
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendInfo,
  selectBackend,
  tfjsVersions,
  tryNative,
} from './backend.js';
export { type ClientTls, WorkerClient, type WorkerOptions, type WorkerResult } from './client.js';
export { conv2dFilterGrad, conv2dInputGrad, convGeometry, installFastGradients } from './gradients.js';
export { saveLayersModel, toLayersModel, WEIGHTS_FILE } from './layers-model.js';
export { Network } from './network.js';
export { benchCompute, type ComputeBenchResult, computeRates } from './profile.js';
export { describeConnectError } from './refusal.js';
export { applySchedPolicy, SCHED_POLICIES, type SchedPolicy, type SchedResult } from './sched.js';
export { loadDataset, WorkerTrainer } from './trainer.js';
