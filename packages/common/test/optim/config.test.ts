import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hyperparameters, type OptimizerConfig, optimizerKind, validateOptimizer } from '@dtrain/common';

const base: OptimizerConfig = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' };

test('configs without a kind keep their meaning: sgd, momentum or nesterov from momentum and nesterov', () => {
  assert.equal(optimizerKind(base), 'sgd');
  assert.equal(optimizerKind({ ...base, momentum: 0.9 }), 'momentum');
  assert.equal(optimizerKind({ ...base, momentum: 0.9, nesterov: true }), 'nesterov');
});

test('defaults per kind: eps 1e-8 (adam) or 1e-6 (lamb); 1-D tensors excluded for lars and lamb only', () => {
  assert.equal(hyperparameters({ ...base, kind: 'adam' }).eps, 1e-8);
  assert.equal(hyperparameters({ ...base, kind: 'lamb' }).eps, 1e-6);
  assert.equal(hyperparameters({ ...base, kind: 'lamb' }).exclude1d, true);
  assert.equal(hyperparameters({ ...base, kind: 'lars', momentum: 0.9 }).exclude1d, true);
  assert.equal(hyperparameters({ ...base, kind: 'adamw' }).exclude1d, false);
  assert.equal(hyperparameters({ ...base, kind: 'adamw', exclude1d: true }).exclude1d, true);
});

test('nonsense hyperparameters are refused, naming the value', () => {
  const refused = (c: Partial<OptimizerConfig>, message: RegExp) =>
    assert.throws(() => validateOptimizer({ ...base, ...c }), message);
  refused({ kind: 'adam', beta1: 1 }, /beta1 1 is outside \[0, 1\)/);
  refused({ kind: 'adam', beta2: -0.1 }, /beta2 -0.1 is outside/);
  refused({ kind: 'adam', eps: 0 }, /eps 0 must be in \(0, 1\)/);
  refused({ kind: 'lars', momentum: 0.9, trustCoefficient: -1 }, /trust coefficient -1/);
  refused({ clipGradNorm: -1 }, /--clip-grad-norm -1 must be a norm >= 0/);
  refused({ clipGradNorm: Number.NaN }, /--clip-grad-norm NaN/);
  refused({ kind: 'sgd', momentum: 0.9 }, /--optimizer sgd has no momentum/);
  refused({ kind: 'momentum' }, /--optimizer momentum needs --momentum > 0/);
  refused({ kind: 'lars' }, /--optimizer lars needs --momentum > 0/);
  refused({ kind: 'adam', momentum: 0.9 }, /adam has no heavy-ball momentum/);
  refused({ kind: 'adamw', form: 'keras' }, /takes no --nesterov, --momentum-form or --dampening/);
  refused({ kind: 'bogus' as never }, /optimizer bogus is not one of sgd, momentum/);
});
