// The device registry: what --device accepts, and the batching each device asks for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { parseGpuCount } from '../../src/inference/options.js';
import { DEVICE_CHOICES, DEVICES, devicesToTry, parseDeviceChoice } from '../../src/runtime/devices.js';

test('--device accepts every registered device and auto; anything else names the choices', () => {
  assert.deepEqual([...DEVICE_CHOICES], ['cpu', 'cuda', 'webgpu', 'auto']);
  for (const c of DEVICE_CHOICES) assert.equal(parseDeviceChoice(c), c);
  assert.throws(() => parseDeviceChoice('gpu'), (e: unknown) => e instanceof UsageError && e.message === '--device must be cpu, cuda, webgpu or auto, got "gpu"');
  assert.deepEqual(devicesToTry('auto').map((d) => d.name), ['cuda', 'webgpu', 'cpu']);
  assert.deepEqual(devicesToTry('webgpu').map((d) => d.name), ['webgpu']);
});

test('GPU devices batch large, warm up, pad to one shape and keep two sessions per GPU; every session ends with the CPU provider', () => {
  for (const d of Object.values(DEVICES)) {
    assert.equal(d.providers(0).at(-1), 'cpu');
    if (!d.accelerator) continue;
    assert.ok(d.defaultBatchSize >= 512 && d.defaultBatchSize <= 4096, `${d.name}: ${d.defaultBatchSize}`);
    assert.ok(d.warmUp && d.fixedBatchShape);
    assert.equal(d.sessionsPerGpu, 2);
  }
  assert.deepEqual(DEVICES.cuda.providers(1)[0], { name: 'cuda', deviceId: 1 });
  assert.equal(DEVICES.webgpu.host, 'process');
});

test('--gpus takes a count or all', () => {
  assert.equal(parseGpuCount('all'), 'all');
  assert.equal(parseGpuCount('8'), 8);
  for (const bad of ['0', '-1', '1.5', 'two', '', '65']) assert.throws(() => parseGpuCount(bad), UsageError, bad);
});
