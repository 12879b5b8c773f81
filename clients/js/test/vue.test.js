// The Vue composable outside a browser: Vue's reactivity runs in Node, so
// the refs an app's template binds can be checked against a real ninja.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { effectScope, watch } from 'vue';
import { useNinjaUpload } from '../vue.js';
import { startNinja, mintToken, gateway, bytes } from './server.js';

let server;
before(async () => { server = await startNinja(); });
after(async () => { await server.stop(); });

test('the composable\'s refs follow an upload from start to result', async () => {
  const { token } = await mintToken(server);
  const scope = effectScope();
  const u = scope.run(() => useNinjaUpload({ url: server.url, token }));
  const seen = [];
  scope.run(() => watch(u.progress, (p) => seen.push(p), { flush: 'sync' }));
  const data = bytes(2 << 20, 9);
  const pending = u.upload(new File([data], 'vue.bin'));
  assert.equal(u.uploading.value, true);
  const res = await pending;
  assert.equal(u.uploading.value, false);
  assert.equal(u.result.value.cid, res.cid);
  assert.equal(u.error.value, null);
  assert.equal(u.progress.value, 100);
  assert.equal(u.loaded.value, data.length);
  assert.ok(seen.length > 2 && seen.every((p, i) => i === 0 || p >= seen[i - 1]), `progress ${seen}`);
  assert.deepEqual(await gateway(server, res.cid), data);
  scope.stop();
});

test('a refusal lands in error with its reason, and an abort is no error', async () => {
  const { token } = await mintToken(server, { maxSizeMB: 1 });
  const scope = effectScope();
  const u = scope.run(() => useNinjaUpload({ url: server.url, token }));
  assert.equal(await u.upload(new File([bytes(2 << 20)], 'too-big.bin')), null);
  assert.equal(u.error.value.reason, 'SIZE_EXCEEDED');
  assert.equal(u.error.value.status, 413);

  const pending = u.upload(new File([bytes(900 << 10)], 'aborted.bin'));
  u.abort();
  assert.equal(await pending, null);
  assert.equal(u.error.value, null);
  assert.equal(u.uploading.value, false);
  scope.stop();
});
