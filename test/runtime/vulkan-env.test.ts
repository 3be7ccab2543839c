// The environment a WebGPU session process gets: a private XDG_RUNTIME_DIR where none is set, and a
// writable shader cache where the default one cannot be written; what the user set is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vulkanEnvAdditions } from '../../src/runtime/vulkan-env.js';
import { tempDir } from '../inference/support/datasets.js';

test('XDG_RUNTIME_DIR: a private directory when absent, the user\'s when set', () => {
  const add = vulkanEnvAdditions({ HOME: tempDir() });
  assert.ok(add.XDG_RUNTIME_DIR);
  const st = statSync(add.XDG_RUNTIME_DIR);
  assert.ok(st.isDirectory());
  assert.equal(st.mode & 0o777, 0o700);
  assert.equal(vulkanEnvAdditions({ HOME: tempDir(), XDG_RUNTIME_DIR: '/run/user/1000' }).XDG_RUNTIME_DIR, undefined);
});

test('shader cache: the drivers\' default where ~/.cache is writable, else a temp one; CAI_GPU_CACHE chooses', () => {
  const home = tempDir();
  assert.deepEqual(Object.keys(vulkanEnvAdditions({ HOME: home, XDG_RUNTIME_DIR: '/x' })), []);
  // A home that is a file: nothing can be created under it.
  const fileHome = join(tempDir(), 'not-a-directory');
  writeFileSync(fileHome, '');
  const unwritable = vulkanEnvAdditions({ HOME: fileHome, XDG_RUNTIME_DIR: '/x' });
  assert.match(unwritable.MESA_SHADER_CACHE_DIR!, /cai-gpu-cache-.*\/mesa$/);
  assert.match(unwritable.__GL_SHADER_DISK_CACHE_PATH!, /cai-gpu-cache-.*\/nvidia$/);
  const chosen = join(tempDir(), 'cache');
  const add = vulkanEnvAdditions({ HOME: home, XDG_RUNTIME_DIR: '/x', CAI_GPU_CACHE: chosen, MESA_SHADER_CACHE_DIR: '/elsewhere' });
  assert.equal(add.MESA_SHADER_CACHE_DIR, join(chosen, 'mesa'));
  assert.equal(vulkanEnvAdditions({ HOME: fileHome, XDG_RUNTIME_DIR: '/x', MESA_SHADER_CACHE_DIR: '/mine' }).MESA_SHADER_CACHE_DIR, undefined, "the user's own cache directory is kept");
});
