// Resumable uploads (tus) against a real ninja (see server.js): the CID is
// the multipart upload's, progress is the file's bytes, a cut chunk or a
// reload resumes from the server's offset, an abort terminates, a refusal
// carries ninja's reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { Ninja, NinjaError } from '../ninja.js';
import { startNinja, admin, mintToken, gateway, uploadsOf, bytes } from './server.js';

let server;
before(async () => { server = await startNinja(); });
after(async () => { await server.stop(); });

const CHUNK = 256 * 1024;

// spy is a fetch that records every request (method, path, Upload-Offset,
// body bytes taken) and can cut a PATCH's body after some bytes.
function spy({ cut, corrupt } = {}) {
  const log = [];
  const fetchImpl = async (url, init = {}) => {
    const h = new Headers(init.headers);
    const entry = { method: init.method || 'GET', path: new URL(url).pathname, offset: h.get('Upload-Offset'), checksum: h.get('Upload-Checksum'), sent: 0 };
    log.push(entry);
    let body = init.body;
    if (body && typeof body.getReader === 'function') {
      const reader = body.getReader();
      const limit = cut ? cut(entry, log) : Infinity;
      let damage = corrupt ? corrupt(entry, log) : false;
      body = new ReadableStream({
        async pull(ctl) {
          const { done, value } = await reader.read();
          if (done) { ctl.close(); return; }
          if (entry.sent + value.byteLength > limit) {
            const part = value.subarray(0, limit - entry.sent);
            entry.sent += part.byteLength;
            ctl.enqueue(part);
            ctl.error(new Error('connection cut by the test'));
            return;
          }
          entry.sent += value.byteLength;
          if (damage && value.byteLength > 0) {
            // One bit flipped on the way: what a checksum is for.
            const copy = new Uint8Array(value);
            copy[0] ^= 1;
            ctl.enqueue(copy);
            damage = false;
            return;
          }
          ctl.enqueue(value);
        },
      });
    }
    const resp = await fetch(url, { ...init, body });
    entry.status = resp.status;
    entry.cid = resp.headers.get('Upload-CID') || '';
    entry.location = resp.headers.get('Location') || '';
    entry.serverOffset = resp.headers.get('Upload-Offset');
    return resp;
  };
  return { log, fetch: fetchImpl };
}

// memoryStorage stands in for a browser's localStorage (one per "page").
function memoryStorage() {
  const m = new Map();
  return { m, getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

async function multipartCID(token, data, name) {
  const res = await new Ninja({ url: server.url, token, resumableThreshold: Infinity }).upload(new File([data], name));
  return res.cid;
}

test('a file over the threshold goes over tus in chunks, with the CID of a multipart upload of the same bytes and progress up to its size', async () => {
  const { token } = await mintToken(server);
  const data = bytes(5 * CHUNK + 1234, 11);
  const s = spy();
  const seen = [];
  const ninja = new Ninja({ url: server.url, token, fetch: s.fetch, resumableThreshold: 1024 * 1024, chunkSize: CHUNK });
  const res = await ninja.upload(new File([data], 'tus.bin'), {
    name: 'holiday-tus.bin', description: 'over tus', metadata: { via: 'tus' }, onProgress: (p) => seen.push(p),
  });
  const patches = s.log.filter((e) => e.method === 'PATCH');
  assert.equal(s.log[0].method, 'POST');
  assert.equal(s.log[0].path, '/tus/');
  assert.equal(patches.length, 6);
  assert.deepEqual(patches.map((p) => Number(p.offset)), [0, 1, 2, 3, 4, 5].map((i) => i * CHUNK));
  assert.equal(patches.reduce((n, p) => n + p.sent, 0), data.length, 'bytes sent are not the file\'s');
  assert.ok(seen.length >= 6, `only ${seen.length} progress events`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].loaded > seen[i - 1].loaded, 'progress went back or repeated');
  assert.ok(seen.every((p) => p.total === data.length));
  assert.equal(seen.at(-1).loaded, data.length);
  assert.equal(res.cid, patches.at(-1).cid);
  assert.equal(res.size, data.length);
  assert.equal(res.uris.ipfs, `ipfs://${res.cid}`);
  assert.equal(res.cid, await multipartCID(token, data, 'tus.bin'));
  assert.deepEqual(await gateway(server, res.cid), data);
  const recs = await uploadsOf(server, res.cid);
  const rec = recs.find((r) => r.name === 'holiday-tus.bin');
  assert.ok(rec, `no record named holiday-tus.bin: ${JSON.stringify(recs)}`);
  assert.equal(rec.description, 'over tus');
  assert.deepEqual(rec.metadata, { via: 'tus' });
});

test('a chunk cut mid-way is resumed from the offset the server reports, not from 0', async () => {
  const { token } = await mintToken(server);
  const data = bytes(6 * CHUNK + 99, 12);
  let patches = 0;
  // The third PATCH loses its connection after half a chunk.
  const s = spy({ cut: (e) => (e.method === 'PATCH' && ++patches === 3 ? CHUNK / 2 : Infinity) });
  const ninja = new Ninja({ url: server.url, token, fetch: s.fetch, resumableThreshold: 0, chunkSize: CHUNK, retryDelays: [50, 200, 500] });
  const res = await ninja.upload(new File([data], 'cut.bin'));
  const cutAt = s.log.findIndex((e) => e.method === 'PATCH' && e.status === undefined);
  assert.ok(cutAt > 0, `no PATCH was cut: ${JSON.stringify(s.log)}`);
  const head = s.log.slice(cutAt + 1).find((e) => e.method === 'HEAD');
  assert.ok(head, 'no HEAD after the cut');
  const resumed = s.log.slice(s.log.indexOf(head) + 1).find((e) => e.method === 'PATCH');
  assert.ok(Number(head.serverOffset) >= 2 * CHUNK, `the server reported offset ${head.serverOffset}`);
  assert.equal(resumed.offset, head.serverOffset, 'the resumed PATCH did not start at the server\'s offset');
  assert.equal(s.log.filter((e) => e.method === 'POST').length, 1, 'the upload was created again');
  const sent = s.log.reduce((n, e) => n + e.sent, 0);
  assert.ok(sent < data.length + CHUNK, `${sent} bytes sent for ${data.length}: the upload started over`);
  assert.equal(res.cid, await multipartCID(token, data, 'cut.bin'));
});

test('after a "reload" the same file resumes the upload remembered in storage from the server\'s offset', async () => {
  const { token } = await mintToken(server);
  const data = bytes(6 * CHUNK + 5, 13);
  const file = new File([data], 'reload.bin', { lastModified: 1700000000000 });
  const storage = memoryStorage();
  let patches = 0;
  // The first page loses the network for good after three chunks.
  const dead = async (url, init) => {
    if ((init.method === 'PATCH' && ++patches > 3) || patches > 3) throw new TypeError('network is down');
    return fetch(url, init);
  };
  const first = new Ninja({ url: server.url, token, fetch: dead, storage, resumableThreshold: 0, chunkSize: CHUNK, retryDelays: [10] });
  await assert.rejects(first.upload(file), (err) => err instanceof NinjaError && err.status === 0 && err.reason === 'NETWORK_ERROR');
  assert.equal(storage.m.size, 1, 'the upload URL was not remembered');
  const s = spy();
  const second = new Ninja({ url: server.url, token, fetch: s.fetch, storage, resumableThreshold: 0, chunkSize: CHUNK });
  const res = await second.upload(new File([data], 'reload.bin', { lastModified: 1700000000000 }));
  assert.deepEqual(s.log.slice(0, 2).map((e) => e.method), ['HEAD', 'PATCH']);
  assert.equal(s.log[0].serverOffset, String(3 * CHUNK));
  assert.equal(s.log[1].offset, String(3 * CHUNK));
  assert.equal(s.log.reduce((n, e) => n + e.sent, 0), data.length - 3 * CHUNK);
  assert.equal(storage.m.size, 0, 'a finished upload was not forgotten');
  assert.equal(res.cid, await multipartCID(token, data, 'reload.bin'));
});

test('an aborted tus upload is terminated: its URL answers 404 and the token\'s use is given back', async () => {
  const t = await mintToken(server, { maxUploads: 1 });
  const storage = memoryStorage();
  const s = spy();
  const ctl = new AbortController();
  const ninja = new Ninja({ url: server.url, token: t.token, fetch: s.fetch, storage, resumableThreshold: 0, chunkSize: CHUNK });
  const upload = ninja.upload(new File([bytes(8 * CHUNK, 14)], 'aborted.bin'), {
    signal: ctl.signal,
    onProgress: (p) => { if (p.loaded >= 2 * CHUNK) ctl.abort(); },
  });
  await assert.rejects(upload, (err) => err.name === 'AbortError');
  const created = s.log.find((e) => e.method === 'POST');
  assert.ok(created.location, 'no upload was created');
  assert.ok(s.log.some((e) => e.method === 'DELETE' && e.status === 204), `no DELETE terminated it: ${JSON.stringify(s.log.map((e) => [e.method, e.status]))}`);
  const head = await fetch(created.location, { method: 'HEAD', headers: { Authorization: `Bearer ${t.token}`, 'Tus-Resumable': '1.0.0' } });
  assert.equal(head.status, 404);
  assert.equal(storage.m.size, 0);
  const [listed] = (await admin(server, 'GET', '/signed-tokens?limit=1000')).filter((x) => x.tokenId === t.tokenId);
  assert.equal(listed.useCount, 0);
  // The one use is free again: the token uploads once more.
  const res = await new Ninja({ url: server.url, token: t.token }).upload(new Blob(['after the abort']));
  assert.ok(res.cid);
});

test('a refusal at creation is a NinjaError with ninja\'s reason, and no byte is sent', async () => {
  const { token } = await mintToken(server, { maxSizeMB: 1 });
  const s = spy();
  const ninja = new Ninja({ url: server.url, token, fetch: s.fetch, resumableThreshold: 0, chunkSize: CHUNK });
  const err = await ninja.upload(new File([bytes(2 * 1024 * 1024, 15)], 'too-big.bin')).catch((e) => e);
  assert.ok(err instanceof NinjaError, `${err}`);
  assert.equal(err.status, 413);
  assert.equal(err.reason, 'SIZE_EXCEEDED');
  assert.deepEqual(s.log.map((e) => e.method), ['POST']);
});

// jwtMinter returns a getToken that signs a fresh upload JWT (for
// fileName) each call, and the count of calls.
async function jwtMinter(fileName) {
  const key = await admin(server, 'POST', '/upload-signing-keys', { name: 'js tus test' });
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const m = { asked: 0 };
  m.getToken = () => {
    m.asked++;
    const now = Math.floor(Date.now() / 1000);
    const head = enc({ alg: 'HS256', typ: 'JWT', kid: key.kid });
    const body = enc({ iat: now, exp: now + 600, jti: randomUUID(), fileName });
    return `${head}.${body}.${createHmac('sha256', key.secret).update(`${head}.${body}`).digest('base64url')}`;
  };
  return m;
}

test('a single-use upload JWT continues the upload it created: getToken is asked once for all chunks', async () => {
  const m = await jwtMinter('jwt.bin');
  const ninja = new Ninja({ url: server.url, resumableThreshold: 0, chunkSize: CHUNK, getToken: m.getToken });
  const data = bytes(3 * CHUNK + 3, 16);
  const res = await ninja.upload(new File([data], 'jwt.bin'));
  assert.equal(m.asked, 1);
  assert.deepEqual(await gateway(server, res.cid), data);
});

test('a new upload JWT does not spend itself on an upload remembered from an earlier one: it creates its own', async () => {
  const m = await jwtMinter('jwt-again.bin');
  const data = bytes(4 * CHUNK + 1, 19);
  const file = () => new File([data], 'jwt-again.bin', { lastModified: 1700000000001 });
  const storage = memoryStorage();
  let patches = 0;
  const dead = async (url, init) => {
    if (init.method === 'PATCH' && ++patches > 2) throw new TypeError('network is down');
    return fetch(url, init);
  };
  const first = new Ninja({ url: server.url, getToken: m.getToken, fetch: dead, storage, resumableThreshold: 0, chunkSize: CHUNK, retryDelays: [] });
  await assert.rejects(first.upload(file()), (err) => err.reason === 'NETWORK_ERROR');
  assert.equal(storage.m.size, 1);
  const s = spy();
  const second = new Ninja({ url: server.url, getToken: m.getToken, fetch: s.fetch, storage, resumableThreshold: 0, chunkSize: CHUNK });
  const res = await second.upload(file());
  assert.equal(s.log[0].method, 'POST', `the new JWT was shown first to ${s.log[0].method} ${s.log[0].path}`);
  assert.equal(m.asked, 2);
  assert.deepEqual(await gateway(server, res.cid), data);
});

test('a token that expires mid-upload is replaced through getToken and the file sent anew under the new one', async () => {
  const reasons = [];
  const data = bytes(8 * CHUNK + 1, 17);
  // Each PATCH waits a little, so the first token (2 s) expires mid-upload.
  const slow = async (url, init) => {
    if (init.method === 'PATCH') await new Promise((r) => setTimeout(r, 300));
    return fetch(url, init);
  };
  const ninja = new Ninja({
    url: server.url, fetch: slow, refreshMargin: 0, resumableThreshold: 0, chunkSize: CHUNK,
    getToken: async ({ reason }) => {
      reasons.push(reason);
      const t = await mintToken(server, { expiresIn: reasons.length === 1 ? 2 : 3600 });
      return { token: t.token, expiresAt: t.expiresAt };
    },
  });
  const res = await ninja.upload(new File([data], 'expiring.bin'));
  assert.deepEqual(reasons, ['initial', 'expired']);
  assert.deepEqual(await gateway(server, res.cid), data);
});

test('every chunk carries its SHA-256; a chunk damaged on the way is refused (460) and sent again', async () => {
  const { token } = await mintToken(server);
  const data = bytes(4 * CHUNK + 7, 18);
  let patches = 0;
  const s = spy({ corrupt: (e) => e.method === 'PATCH' && ++patches === 2 });
  const ninja = new Ninja({ url: server.url, token, fetch: s.fetch, resumableThreshold: 0, chunkSize: CHUNK, retryDelays: [10] });
  const res = await ninja.upload(new File([data], 'damaged.bin'));
  const sent = s.log.filter((e) => e.method === 'PATCH');
  assert.ok(sent.every((e) => /^sha256 [A-Za-z0-9+/]+=*$/.test(e.checksum || '')), `a PATCH without Upload-Checksum: ${JSON.stringify(sent)}`);
  assert.equal(sent[1].status, 460);
  assert.equal(sent[2].offset, sent[1].offset, 'the damaged chunk was not sent again from its offset');
  assert.equal(res.cid, await multipartCID(token, data, 'damaged.bin'));
  assert.deepEqual(await gateway(server, res.cid), data);
});
