// Public surface of @dtrain/worker.
export { selectBackend, tryNative, tfjsVersions, BACKEND_CHOICES, type BackendChoice, type BackendInfo } from './backend.js';
export { describeConnectError } from './refusal.js';
export { WorkerClient, type ClientTls, type WorkerOptions, type WorkerResult } from './client.js';
export { Network } from './network.js';
export { WorkerTrainer, loadDataset } from './trainer.js';
export { installFastGradients, conv2dFilterGrad, conv2dInputGrad, convGeometry } from './gradients.js';
export { benchCompute, computeRates, type ComputeBenchResult } from './profile.js';
export { applySchedPolicy, SCHED_POLICIES, type SchedPolicy, type SchedResult } from './sched.js';
export { saveLayersModel, toLayersModel, WEIGHTS_FILE } from './layers-model.js';
