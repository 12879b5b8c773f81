// The library against a real ninja (see server.js): every test checks what
// an app relies on: the bytes the gateway serves back, the record ninja
// kept, the error an app is shown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { Ninja, NinjaError, errorFromResponse } from '../ninja.js';
import { startNinja, admin, mintToken, gateway, uploadsOf, bytes } from './server.js';

let server;
before(async () => { server = await startNinja(); });
after(async () => { await server.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('an uploaded file comes back byte for byte, recorded with its name, description and metadata', async () => {
  const { token } = await mintToken(server);
  const ninja = new Ninja({ url: server.url, token });
  const data = bytes(1536 * 1024 + 7); // more than one 1 MiB chunk
  const res = await ninja.upload(new File([data], 'photo.bin'), {
    name: 'holiday/photo.bin', description: 'from the js test', metadata: { album: 'summer', n: 3 },
  });
  assert.equal(res.size, data.length);
  assert.deepEqual(await gateway(server, res.cid), data);
  const [rec] = await uploadsOf(server, res.cid);
  assert.equal(rec.name, 'holiday/photo.bin');
  assert.equal(rec.description, 'from the js test');
  assert.deepEqual(rec.metadata, { album: 'summer', n: '3' });
});

test('progress is told in the file\'s bytes, never goes back, and ends at its size', async () => {
  const { token } = await mintToken(server);
  const ninja = new Ninja({ url: server.url, token });
  const size = 3 * 1024 * 1024 + 5;
  const seen = [];
  await ninja.upload(new File([bytes(size, 2)], 'big.bin'), { onProgress: (p) => seen.push(p) });
  assert.ok(seen.length > 10, `only ${seen.length} progress events for 3 MiB`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].loaded > seen[i - 1].loaded, 'progress went back or repeated');
  assert.ok(seen.every((p) => p.total === size), 'total is not the file size');
  assert.equal(seen.at(-1).loaded, size);
});

test('several files with paths are one directory, whose files the gateway serves', async () => {
  const { token } = await mintToken(server);
  const ninja = new Ninja({ url: server.url, token });
  const res = await ninja.upload([
    { file: new Blob(['<h1>hi</h1>']), path: 'site/index.html' },
    { file: new Blob(['body{}']), path: 'site/css/app.css' },
  ]);
  assert.equal(res.mimeType, 'inode/directory');
  assert.equal(new TextDecoder().decode(await gateway(server, `${res.cid}/index.html`)), '<h1>hi</h1>');
  assert.equal(new TextDecoder().decode(await gateway(server, `${res.cid}/css/app.css`)), 'body{}');
});

test('a credential near its expiresAt is replaced through getToken before the next upload', async () => {
  const reasons = [];
  const minted = [];
  const ninja = new Ninja({
    url: server.url,
    refreshMargin: 2000,
    getToken: async ({ reason }) => {
      reasons.push(reason);
      const t = await mintToken(server, { expiresIn: 4 });
      minted.push(t.tokenId);
      return { token: t.token, expiresAt: t.expiresAt };
    },
  });
  const a = await ninja.upload(new Blob(['first']));
  const b = await ninja.upload(new Blob(['second'])); // the same token: 4 s left, 2 s margin
  await sleep(2500); // now within the margin
  const c = await ninja.upload(new Blob(['third']));
  assert.deepEqual(reasons, ['initial', 'expiring']);
  const tokens = await admin(server, 'GET', '/signed-tokens?limit=1000');
  const uses = Object.fromEntries(tokens.map((t) => [t.tokenId, t.useCount]));
  assert.equal(uses[minted[0]], 2);
  assert.equal(uses[minted[1]], 1);
  for (const [r, text] of [[a, 'first'], [b, 'second'], [c, 'third']]) {
    assert.equal(new TextDecoder().decode(await gateway(server, r.cid)), text);
  }
});

test('a token the server calls expired is replaced once and the upload retried', async () => {
  const reasons = [];
  const ninja = new Ninja({
    url: server.url,
    getToken: async ({ reason }) => {
      reasons.push(reason);
      // A bare string: the library cannot know when it expires.
      return (await mintToken(server, { expiresIn: reasons.length === 1 ? 1 : 3600 })).token;
    },
  });
  await ninja.upload(new Blob(['before expiry']));
  await sleep(1500);
  const data = bytes(300 * 1024, 5);
  const res = await ninja.upload(new File([data], 'after.bin'));
  assert.deepEqual(reasons, ['initial', 'expired']);
  assert.deepEqual(await gateway(server, res.cid), data);
});

test('a fixed token that expired is not retried: the upload fails with TOKEN_EXPIRED', async () => {
  const { token } = await mintToken(server, { expiresIn: 1 });
  await sleep(1500);
  const ninja = new Ninja({ url: server.url, token });
  await assert.rejects(ninja.upload(new Blob(['late'])), (err) => err instanceof NinjaError && err.status === 401 && err.reason === 'TOKEN_EXPIRED');
});

test('an aborted upload rejects with an AbortError and ninja records nothing', async () => {
  const t = await mintToken(server);
  const ninja = new Ninja({ url: server.url, token: t.token });
  const before = (await admin(server, 'GET', '/upload/list?limit=1')).count;
  const ctl = new AbortController();
  const big = new File([new Uint8Array(64 << 20)], 'aborted.bin');
  let at = 0;
  const upload = ninja.upload(big, {
    signal: ctl.signal,
    onProgress: (p) => { if (!at && p.loaded >= 4 << 20) { at = p.loaded; ctl.abort(); } },
  });
  await assert.rejects(upload, (err) => err.name === 'AbortError');
  assert.ok(at > 0 && at < big.size, 'the abort did not happen mid-upload');
  await sleep(300); // let the server see the connection go
  assert.equal((await admin(server, 'GET', '/upload/list?limit=1')).count, before);
  const [listed] = (await admin(server, 'GET', '/signed-tokens?limit=1000')).filter((x) => x.tokenId === t.tokenId);
  assert.equal(listed.useCount, 0);
});

test('an upload aborted before it starts rejects at once and sends nothing', async () => {
  const ninja = new Ninja({ url: server.url, getToken: () => assert.fail('asked for a token') });
  const ctl = new AbortController();
  ctl.abort();
  await assert.rejects(ninja.upload(new Blob(['x']), { signal: ctl.signal }), (err) => err.name === 'AbortError');
});

test('a refusal is a NinjaError with ninja\'s status, reason and details', async () => {
  const { token } = await mintToken(server, { allowedMimeTypes: ['image/png'] });
  const ninja = new Ninja({ url: server.url, token });
  const err = await ninja.upload(new File(['just text, not a PNG'], 'notes.txt', { type: 'text/plain' })).catch((e) => e);
  assert.ok(err instanceof NinjaError, `${err}`);
  assert.equal(err.status, 415);
  assert.equal(err.reason, 'MIME_NOT_ALLOWED');
  assert.match(err.details, /text\/plain/);
  const bad = await new Ninja({ url: server.url, token: 'sup_not_a_real_token' }).upload(new Blob(['x'])).catch((e) => e);
  assert.equal(bad.status, 401);
  assert.equal(bad.reason, 'UNAUTHORIZED');
});

test('pin queues a CID and status reports it pinned once the DAG is here', async () => {
  const ninja = new Ninja({ url: server.url, token: server.admin });
  // An identity CID holds its data in itself: pinned at once.
  const cid = 'bafkqac3jnzwgs3tfebsgc5db'; // raw, identity hash of "inline data"
  const queued = await ninja.pin(cid, { name: 'inline', metadata: { via: 'js' } });
  assert.equal(queued.cid, cid);
  let st;
  for (let i = 0; i < 50; i++) {
    st = await ninja.status(cid);
    if (st.status === 'pinned') break;
    await sleep(100);
  }
  assert.equal(st.status, 'pinned');
  assert.equal(st.name, 'inline');
  assert.deepEqual(st.metadata, { via: 'js' });
  await assert.rejects(ninja.pin('not-a-cid'), (err) => err.status === 400 && err.reason === 'INVALID_CID');
});

test('a token bound to one name uploads a new version and moves the name, and no other', async () => {
  const label = `site-${randomUUID()}`;
  const created = await admin(server, 'POST', '/names', { name: label });
  await admin(server, 'POST', '/names', { name: `${label}-other` });
  const { token } = await admin(server, 'POST', '/upload-tokens', { expiresIn: '10m', publishName: label });
  const ninja = new Ninja({ url: server.url, token });
  const res = await ninja.upload(new File(['<h1>v2</h1>'], 'index.html'));
  const named = await ninja.publish(label, `/ipfs/${res.cid}`, { sequence: 4 });
  assert.equal(named.ipnsName, created.ipnsName);
  assert.equal(named.value, `/ipfs/${res.cid}`);
  assert.equal(named.sequence, 4);
  assert.equal(await (await fetch(`${server.url}/ipns/${created.ipnsName}`)).text(), '<h1>v2</h1>');
  await assert.rejects(ninja.publish(label, res.cid, { sequence: 4 }), (err) => err.status === 409 && err.reason === 'CONFLICT');
  await assert.rejects(ninja.publish(`${label}-other`, res.cid), (err) => err.status === 403 && err.reason === 'FORBIDDEN');
});

test('an upload JWT, being single use, is asked for anew for every upload', async () => {
  const key = await admin(server, 'POST', '/upload-signing-keys', { name: 'js test' });
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  let asked = 0;
  const ninja = new Ninja({
    url: server.url,
    getToken: () => {
      asked++;
      const now = Math.floor(Date.now() / 1000);
      const head = enc({ alg: 'HS256', typ: 'JWT', kid: key.kid });
      const body = enc({ iat: now, exp: now + 600, jti: randomUUID() });
      const sig = createHmac('sha256', key.secret).update(`${head}.${body}`).digest('base64url');
      return `${head}.${body}.${sig}`;
    },
  });
  const a = await ninja.upload(new Blob(['jwt one']));
  const b = await ninja.upload(new Blob(['jwt two']));
  assert.equal(asked, 2);
  // Uploads at once share no single-use JWT either.
  const both = await Promise.all([ninja.upload(new Blob(['jwt three'])), ninja.upload(new Blob(['jwt four']))]);
  assert.equal(asked, 4);
  assert.equal(new TextDecoder().decode(await gateway(server, both[1].cid)), 'jwt four');
  assert.equal(new TextDecoder().decode(await gateway(server, b.cid)), 'jwt two');
  assert.notEqual(a.cid, b.cid);
});

test('request pages a list with X-Next-Cursor', async () => {
  for (let i = 0; i < 3; i++) await mintToken(server, { name: `page ${i}` });
  const ninja = new Ninja({ url: server.url, token: server.admin });
  const first = await ninja.request('GET', '/signed-tokens', { query: { limit: 2 }, page: true });
  assert.equal(first.items.length, 2);
  assert.ok(first.next, 'no cursor for the next page');
  const second = await ninja.request('GET', '/signed-tokens', { query: { limit: 2, cursor: first.next }, page: true });
  assert.ok(second.items.length >= 1);
  const ids = new Set([...first.items, ...second.items].map((t) => t.tokenId));
  assert.equal(ids.size, first.items.length + second.items.length, 'a token was listed twice');
});

test('errorFromResponse reads ninja\'s error shape and describes anything else', () => {
  const e = errorFromResponse(413, '{"error":{"reason":"SIZE_EXCEEDED","details":"over 1 MB"}}');
  assert.deepEqual([e.status, e.reason, e.details, e.message], [413, 'SIZE_EXCEEDED', 'over 1 MB', 'SIZE_EXCEEDED: over 1 MB']);
  const p = errorFromResponse(502, '<html>Bad gateway</html>');
  assert.deepEqual([p.status, p.reason], [502, 'HTTP_502']);
  assert.match(p.details, /Bad gateway/);
});
