// ninja's client library: an ES module with no dependencies, for browsers
// and Node 20+. It uploads with real byte progress, refreshes an expiring
// credential through getToken, and turns ninja's error answers
// ({"error":{"reason","details"}}) into NinjaError.
//
//   import { Ninja } from 'https://pin.example.com/js/ninja.js';
//   const ninja = new Ninja({ url: 'https://pin.example.com', getToken });
//   const { cid } = await ninja.upload(file, { onProgress: (p) => bar.value = p.loaded / p.total });
//
// Uploads go through a transport. Two are built in: tus (resumable, for
// one file of more than resumableThreshold bytes, 64 MiB by default) and
// multipart (POST /upload, everything else). More can be put in front of
// them with the `transports` option without changing upload()'s signature
// or result.

/** NinjaError is every failure ninja (or the network) reports. */
export class NinjaError extends Error {
  constructor(status, reason, details, options) {
    super(details ? `${reason}: ${details}` : reason, options);
    this.name = 'NinjaError';
    this.status = status; // the HTTP status; 0 when no answer arrived
    this.reason = reason; // ninja's reason code (SIZE_EXCEEDED, TOKEN_EXPIRED, …)
    this.details = details || '';
  }
}

/** errorFromResponse reads ninja's error shape, or describes what came instead. */
export function errorFromResponse(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.reason) return new NinjaError(status, body.error.reason, body.error.details || '');
  } catch { /* not JSON: a proxy's page, a truncated answer */ }
  const snippet = String(text || '').trim().slice(0, 200);
  return new NinjaError(status, `HTTP_${status}`, snippet || `the server answered ${status}`);
}

// abortError is what an aborted call rejects with: the signal's own reason
// when it is a DOMException (AbortError, or TimeoutError from
// AbortSignal.timeout), else a new AbortError, as fetch does.
function abortError(signal) {
  const r = signal && signal.reason;
  if (r && typeof r === 'object' && r.name && (r.name === 'AbortError' || r.name === 'TimeoutError')) return r;
  return new DOMException('The operation was aborted.', 'AbortError');
}

// REFRESH_MARGIN is how long before its expiry a credential from getToken is
// replaced, so one never expires in flight: an upload's credential is
// checked when its request starts.
const REFRESH_MARGIN = 30_000;

// jwtPart decodes one base64url JSON part of a compact JWT, or null.
function jwtPart(tok, i) {
  const parts = String(tok).split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[i].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
  } catch {
    return null;
  }
}

// credential normalises what getToken returns: a string, or an object with
// token and expiresAt (unix ms, as ninja's token endpoints answer; a Date or
// an ISO string also do). A JWT without expiresAt is read for its exp.
function credential(v) {
  const c = typeof v === 'string' ? { token: v } : { ...(v || {}) };
  if (typeof c.token !== 'string' || c.token === '') throw new TypeError('getToken must return a token string or {token, expiresAt}');
  let exp = c.expiresAt;
  if (exp instanceof Date) exp = exp.getTime();
  else if (typeof exp === 'string') exp = /^\d+$/.test(exp) ? Number(exp) : Date.parse(exp);
  const head = jwtPart(c.token, 0);
  const body = head ? jwtPart(c.token, 1) : null;
  if (!(exp > 0) && body && typeof body.exp === 'number') exp = body.exp * 1000;
  // A client-minted upload JWT (header kid usk_…) is single use: ninja
  // consumes it on first sight, so it is never presented twice.
  const singleUse = Boolean(head && typeof head.kid === 'string' && head.kid.startsWith('usk_'));
  return { token: c.token, expiresAt: exp > 0 ? exp : 0, singleUse };
}

/** Ninja is a client of one ninja server with one credential. */
export class Ninja {
  #url;
  #static; // a fixed credential, when no getToken was given
  #getToken;
  #current = null; // the last credential getToken gave
  #pending = null; // a getToken call in flight, shared by concurrent callers
  #claimed = new WeakSet(); // getToken calls whose single-use credential was taken
  #margin;
  #transports;
  #fetch;

  /**
   * @param {object} options
   * @param {string} [options.url] the server's base URL ('' or absent: this page's origin)
   * @param {string} [options.token] a fixed credential: API key, upload token or JWT
   * @param {Function} [options.getToken] async () => token | {token, expiresAt}
   */
  #tus;

  constructor({
    url = '', token, getToken, refreshMargin = REFRESH_MARGIN, transports, fetch: fetchImpl,
    resumableThreshold = RESUMABLE_THRESHOLD, chunkSize = CHUNK_SIZE, retryDelays = RETRY_DELAYS, storage, checksum = true,
  } = {}) {
    if (!token && typeof getToken !== 'function') throw new TypeError('new Ninja needs a token or a getToken function');
    this.#url = String(url).replace(/\/+$/, '');
    this.#static = token ? credential(token) : null;
    this.#getToken = typeof getToken === 'function' ? getToken : null;
    this.#margin = refreshMargin;
    this.#transports = [...(transports || []), tusTransport, multipartTransport];
    this.#tus = { resumableThreshold, chunkSize, retryDelays, storage, checksum };
    this.#fetch = fetchImpl || ((...a) => globalThis.fetch(...a));
  }

  /** url is the server's base URL, as given. */
  get url() { return this.#url; }

  // authorization returns the header value for the next request. force:
  // the server said the last credential expired, so ask getToken again.
  async #authorization(force = false) {
    if (!this.#getToken) return `Bearer ${this.#static.token}`;
    const c = this.#current;
    const fresh = c && !force && !(c.expiresAt && c.expiresAt - Date.now() <= this.#margin);
    if (fresh) {
      if (c.singleUse) this.#current = null;
      return `Bearer ${c.token}`;
    }
    if (!this.#pending) {
      const reason = force ? 'expired' : c ? 'expiring' : 'initial';
      const pending = Promise.resolve()
        .then(() => this.#getToken({ reason }))
        .then(credential)
        .finally(() => { if (this.#pending === pending) this.#pending = null; });
      this.#pending = pending;
    }
    const pending = this.#pending;
    const next = await pending;
    if (next.singleUse) {
      // Concurrent callers shared one getToken call, but a single-use
      // credential serves only the first of them: the others ask anew.
      if (this.#claimed.has(pending)) return this.#authorization(force);
      this.#claimed.add(pending);
      this.#current = null;
    } else {
      this.#current = next;
    }
    return `Bearer ${next.token}`;
  }

  // withAuth runs send(authorization) and, when it answers 401
  // TOKEN_EXPIRED and a new credential can be had, runs it once more.
  async #withAuth(send) {
    const first = await send(await this.#authorization());
    if (first.status !== 401 || !this.#getToken || errorFromResponse(401, first.text).reason !== 'TOKEN_EXPIRED') return first;
    return send(await this.#authorization(true));
  }

  /**
   * request calls an endpoint and returns its JSON answer (null for an empty
   * one); with {page: true} it returns {items, next} from a paged list
   * (X-Next-Cursor).
   */
  async request(method, path, { body, query, signal, page = false } = {}) {
    const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
    const target = `${this.#url}${path}${qs ? (path.includes('?') ? '&' : '?') + qs : ''}`;
    const res = await this.#withAuth(async (authorization) => {
      const headers = { Authorization: authorization };
      const init = { method, headers, signal, cache: 'no-store' };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      let resp;
      try {
        resp = await this.#fetch(target, init);
      } catch (err) {
        if (signal && signal.aborted) throw abortError(signal);
        throw new NinjaError(0, 'NETWORK_ERROR', `${target} could not be reached (${err.message})`, { cause: err });
      }
      return { status: resp.status, text: await resp.text(), next: resp.headers.get('X-Next-Cursor') || '' };
    });
    if (res.status < 200 || res.status > 299) throw errorFromResponse(res.status, res.text);
    const data = res.text ? JSON.parse(res.text) : null;
    return page ? { items: data || [], next: res.next } : data;
  }

  /**
   * upload sends one file (its file CID) or several (a directory's CID;
   * paths with "/" keep their folders) and resolves to ninja's upload
   * answer {cid, size, name, mimeType, uris, …}.
   */
  async upload(fileOrFiles, {
    onProgress, signal, metadata, name, description, cidVersion, wrapWithDirectory,
    resumableThreshold = this.#tus.resumableThreshold, chunkSize = this.#tus.chunkSize,
    retryDelays = this.#tus.retryDelays, storage = this.#tus.storage, checksum = this.#tus.checksum,
  } = {}) {
    const files = fileEntries(fileOrFiles);
    if (signal && signal.aborted) throw abortError(signal);
    const total = files.reduce((n, f) => n + f.file.size, 0);
    let reported = -1;
    const progress = (loaded) => {
      // Monotonic: a retry (a refreshed credential) sends the bytes again,
      // and a bar should not jump back.
      const n = Math.min(Math.max(loaded, reported), total);
      if (n === reported || !onProgress) return;
      reported = n;
      onProgress({ loaded: n, total });
    };
    const fields = { name, description, cidVersion, wrapWithDirectory };
    if (metadata !== undefined && metadata !== null) fields.metadata = typeof metadata === 'string' ? metadata : JSON.stringify(metadata);
    const job = {
      url: this.#url, files, fields, total, signal, progress, fetch: this.#fetch,
      withAuth: (send) => this.#withAuth(send),
      authorize: (force = false) => this.#authorization(force),
      canRefresh: Boolean(this.#getToken),
      resumable: { threshold: resumableThreshold, chunkSize, retryDelays, checksum, storage: storage === undefined ? defaultStorage() : storage },
    };
    const transport = this.#transports.find((t) => t.accepts(job));
    const result = await transport.upload(job);
    progress(total);
    return result;
  }

  /** pin asks ninja to fetch and pin a CID from the network (202: queued). */
  pin(cid, { origins, name, description, metadata, signal } = {}) {
    return this.request('POST', '/pin', { body: { cid, origins, name, description, metadata }, signal });
  }

  /** status reports whether, and since when, a CID is pinned. */
  status(cid, { signal } = {}) {
    return this.request('GET', `/pins/${encodeURIComponent(cid)}`, { signal });
  }

  /**
   * publish points an IPNS name of the account (its label or k51… name) at
   * value (/ipfs/{cid}[/path] or a CID): ninja signs the record. The
   * credential needs scope names, or to be bound to the name (an upload
   * token or access JWT minted with publishName). A sequence not above the
   * current one is a 409 CONFLICT.
   */
  publish(name, value, { sequence, lifetime, ttl, signal } = {}) {
    return this.request('POST', `/names/${encodeURIComponent(name)}`, { body: { value, sequence, lifetime, ttl }, signal });
  }
}

// fileEntries takes a File or Blob, an array or FileList of them, or
// {file, path} entries, and returns [{file, path}].
function fileEntries(input) {
  const one = (f) => {
    if (f && f.file) return { file: f.file, path: f.path || f.file.webkitRelativePath || f.file.name || 'file' };
    if (f && typeof f.size === 'number' && typeof f.slice === 'function') return { file: f, path: f.webkitRelativePath || f.name || 'file' };
    throw new TypeError('upload takes a File or Blob, or a list of them');
  };
  const list = input && typeof input.length === 'number' && typeof input !== 'string' && !(typeof input.slice === 'function' && typeof input.size === 'number')
    ? Array.from(input).map(one) : [one(input)];
  if (list.length === 0) throw new TypeError('upload needs at least one file');
  return list;
}

// Multipart form escaping of names, as browsers' FormData does it.
const escapeName = (s) => String(s).replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');

// multipartBody builds the form as a Blob (the files are referenced, not
// read) and records where each file's bytes lie in it, so upload progress
// can be told in the files' bytes, not the form's. Option fields come
// before the files, as ninja reads them.
export function multipartBody(files, fields) {
  const boundary = `----ninja${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const enc = new TextEncoder();
  const parts = [];
  let offset = 0;
  const text = (s) => { const b = enc.encode(s); parts.push(b); offset += b.length; };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null || v === '') continue;
    text(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(k)}"\r\n\r\n${v}\r\n`);
  }
  const ranges = [];
  for (const { file, path } of files) {
    text(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${escapeName(path)}"\r\n` +
      `Content-Type: ${file.type || 'application/octet-stream'}\r\n\r\n`);
    parts.push(file);
    ranges.push([offset, file.size]);
    offset += file.size;
    text('\r\n');
  }
  text(`--${boundary}--\r\n`);
  const body = new Blob(parts);
  // fileBytes turns bytes of the body sent into bytes of the files sent.
  const fileBytes = (sent) => ranges.reduce((n, [start, size]) => n + Math.min(Math.max(sent - start, 0), size), 0);
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, fileBytes };
}

// multipartTransport uploads with one POST /upload: what every ninja
// accepts, for any credential that may upload.
export const multipartTransport = {
  name: 'multipart',
  accepts: () => true,
  async upload(job) {
    const { body, contentType, fileBytes } = multipartBody(job.files, job.fields);
    const res = await job.withAuth((authorization) => send({
      url: `${job.url}/upload`, body, signal: job.signal, fetch: job.fetch,
      headers: { Authorization: authorization, 'Content-Type': contentType },
      onProgress: (sent) => job.progress(fileBytes(sent)),
    }));
    if (res.status < 200 || res.status > 299) throw errorFromResponse(res.status, res.text);
    try {
      return JSON.parse(res.text);
    } catch (err) {
      throw new NinjaError(res.status, 'BAD_RESPONSE', 'the server sent an unreadable answer', { cause: err });
    }
  },
};

// send POSTs a Blob and reports the bytes of it sent: with XMLHttpRequest
// in browsers (the only API with upload progress over HTTP/1.1), else with
// fetch and a streamed body (Node), counting what fetch has taken.
function send(req) {
  return typeof XMLHttpRequest === 'function' ? sendXHR(req) : sendFetch(req);
}

function sendXHR({ url, method = 'POST', headers, body, signal, onProgress, responseHeaders = [] }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const done = () => { if (signal) signal.removeEventListener('abort', onAbort); };
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.upload.onload = () => onProgress(body.size);
    xhr.onload = () => {
      done();
      const headersOut = {};
      for (const h of responseHeaders) headersOut[h] = xhr.getResponseHeader(h) || '';
      resolve({ status: xhr.status, text: xhr.responseText || '', headers: headersOut });
    };
    xhr.onerror = () => { done(); reject(new NinjaError(0, 'NETWORK_ERROR', 'the connection failed during the upload')); };
    xhr.onabort = () => { done(); reject(abortError(signal)); };
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}

// STREAM_CHUNK is the slice a streamed body is read in: progress moves in
// steps of at most this many bytes.
const STREAM_CHUNK = 64 * 1024;

async function sendFetch({ url, method = 'POST', headers, body, signal, onProgress, fetch: fetchImpl, responseHeaders = [] }) {
  let sent = 0;
  // Pulled slice by slice with no read-ahead (highWaterMark 0), so the
  // count is what fetch has taken to send, not what was buffered for it.
  const stream = new ReadableStream({
    async pull(ctl) {
      if (sent >= body.size) {
        ctl.close();
        return;
      }
      const chunk = new Uint8Array(await body.slice(sent, sent + STREAM_CHUNK).arrayBuffer());
      sent += chunk.byteLength;
      ctl.enqueue(chunk);
      onProgress(sent);
    },
  }, { highWaterMark: 0 });
  let resp;
  try {
    resp = await fetchImpl(url, { method, headers, body: stream, duplex: 'half', signal });
    const headersOut = {};
    for (const h of responseHeaders) headersOut[h] = resp.headers.get(h) || '';
    return { status: resp.status, text: await resp.text(), headers: headersOut };
  } catch (err) {
    if (signal && signal.aborted) throw abortError(signal);
    throw new NinjaError(0, 'NETWORK_ERROR', `the upload to ${url} failed (${err.message})`, { cause: err });
  }
}

// --- Resumable uploads (tus 1.0, ninja's /tus/ endpoint) ---

// RESUMABLE_THRESHOLD is the file size over which upload() goes over tus:
// below it one POST /upload is quicker (no creation round trip, no fsync
// per chunk) and a lost connection costs little to send again.
const RESUMABLE_THRESHOLD = 64 * 1024 * 1024;
// CHUNK_SIZE is the bytes one PATCH carries: ninja fsyncs every chunk before
// it answers, so a lost connection costs at most one chunk, and fewer, larger
// chunks cost fewer syncs and round trips.
const CHUNK_SIZE = 16 * 1024 * 1024;
// RETRY_DELAYS are the waits (ms) before each new attempt after a network
// error or a server error; when they run out the upload fails (and can be
// resumed later with the same file and credential).
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
// STORAGE_PREFIX prefixes the localStorage keys of the uploads in progress.
const STORAGE_PREFIX = 'ninja-tus:';

// defaultStorage is localStorage where there is one (browsers), else none
// (Node): an upload is then resumable only within the upload() call.
function defaultStorage() {
  try {
    return typeof localStorage === 'object' && localStorage ? localStorage : null;
  } catch {
    return null; // a sandboxed frame throws on access
  }
}

// fingerprint names one file of one server: the same file chosen again
// after a reload has the same one.
function fingerprint(url, file, path) {
  return `${STORAGE_PREFIX}${url || (typeof location === 'object' ? location.origin : '')}|${path}|${file.size}|${file.lastModified || 0}|${file.type || ''}`;
}

// subtle is WebCrypto's digest API, absent outside secure contexts.
const subtle = () => (globalThis.crypto && globalThis.crypto.subtle) || null;

const bufferB64 = (buf) => {
  const b = new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < b.length; i++) bin += String.fromCharCode(b[i]);
  return btoa(bin);
};

const b64 = (s) => {
  const bin = Array.from(new TextEncoder().encode(String(s)), (b) => String.fromCharCode(b)).join('');
  return btoa(bin);
};

// tusMetadata is Upload-Metadata: the keys ninja reads (README: Resumable
// uploads), base64 values.
function tusMetadata(entry, fields) {
  // tus has one name for the pin and the path (a "/" in it makes a
  // directory): the file's path keeps the CID a multipart upload's, and a
  // name option takes its place only when it is no path.
  const name = fields.name && !String(fields.name).includes('/') ? fields.name : entry.path;
  const m = { filename: name, filetype: entry.file.type || '' };
  if (fields.description) m.description = fields.description;
  if (fields.metadata) m.metadata = fields.metadata;
  if (fields.cidVersion !== undefined && fields.cidVersion !== null && fields.cidVersion !== '') m.cidVersion = String(fields.cidVersion);
  return Object.entries(m).filter(([, v]) => v !== '').map(([k, v]) => `${k} ${b64(v)}`).join(',');
}

const sleepFor = (ms, signal) => new Promise((resolve, reject) => {
  if (signal && signal.aborted) { reject(abortError(signal)); return; }
  const t = setTimeout(() => { if (signal) signal.removeEventListener('abort', stop); resolve(); }, ms);
  const stop = () => { clearTimeout(t); reject(abortError(signal)); };
  if (signal) signal.addEventListener('abort', stop, { once: true });
});

// retriable tells a failure another attempt may cure: no answer, a server
// error, an upload another request still holds (423), an offset that moved
// (409 OFFSET_MISMATCH: the HEAD before the next attempt reads the right
// one; ninja's other 409s, a replayed JWT or a full quota, are final), a
// rate limit or a chunk damaged on the way (460).
const retriable = (err) => err instanceof NinjaError &&
  (err.status === 0 || err.status >= 500 || err.status === 423 || err.status === 429 || err.status === 460 ||
    (err.status === 409 && err.reason === 'OFFSET_MISMATCH'));

// tusTransport uploads one file over tus: POST /tus/ creates the upload
// (every limit of the credential checked against Upload-Length), PATCHes
// send it chunk by chunk, a HEAD after a failure says where the server's
// bytes end, and the response that brings the last byte carries the CID in
// Upload-CID. The credential that created an upload is the only one that
// may continue it, so the upload keeps it (an upload JWT is presented again
// for its own upload, as ninja allows); when the server says it expired, a
// getToken client starts the file anew under a fresh credential.
export const tusTransport = {
  name: 'tus',
  accepts: (job) => {
    const r = job.resumable;
    return Boolean(r) && job.files.length === 1 && !job.fields.wrapWithDirectory && Number.isFinite(r.threshold) &&
      job.files[0].file.size > Math.max(r.threshold, 0);
  },
  async upload(job) {
    const { file, path } = job.files[0];
    const r = job.resumable;
    const chunkSize = Math.max(Number(r.chunkSize) || CHUNK_SIZE, 1);
    const store = r.storage;
    const key = fingerprint(job.url, file, job.fields.name || path);
    const remember = (v) => { try { if (store) store.setItem(key, JSON.stringify(v)); } catch { /* full or denied */ } };
    const forget = () => { try { if (store) store.removeItem(key); } catch { /* denied */ } };
    const recall = () => { try { return store ? JSON.parse(store.getItem(key) || 'null') : null; } catch { return null; } };

    let authorization = await job.authorize();
    let upload = null; // its URL
    const saved = recall();
    // A single-use upload JWT continues only the upload it creates: shown
    // for another (one remembered from an earlier JWT) it would be spent
    // for nothing, so that one is left behind.
    if (saved && saved.url && !credential(authorization.replace(/^Bearer /, '')).singleUse) upload = saved.url;
    else if (saved) forget();
    let offset = -1; // unknown: ask with a HEAD
    let refreshed = false;
    let delays = [...(r.retryDelays || RETRY_DELAYS)];

    const call = (method, url, headers = {}, extra = {}) => tusRequest(job, method, url, { Authorization: authorization, 'Tus-Resumable': '1.0.0', ...headers }, extra);

    const terminate = async () => {
      if (upload) {
        // Best effort, unaborted: the signal that ends the upload must not
        // also stop the request that frees its bytes and its token's use.
        try { await tusRequest({ ...job, signal: undefined }, 'DELETE', upload, { Authorization: authorization, 'Tus-Resumable': '1.0.0' }); } catch { /* gone already */ }
      }
      forget();
    };
    try {
      for (;;) {
        if (job.signal && job.signal.aborted) throw abortError(job.signal);
        try {
          if (!upload) {
            const res = await call('POST', `${job.url}/tus/`, {
              'Upload-Length': String(file.size), 'Upload-Metadata': tusMetadata({ file, path }, job.fields),
            });
            if (res.status !== 201) throw errorFromResponse(res.status, res.text);
            const loc = res.headers.location;
            if (!loc) throw new NinjaError(res.status, 'BAD_RESPONSE', 'the tus creation answered no Location');
            upload = new URL(loc, job.url || (typeof location === 'object' ? location.href : undefined)).href;
            offset = 0;
            remember({ url: upload, size: file.size, created: Date.now() });
          }
          if (offset < 0) {
            const res = await call('HEAD', upload);
            if (res.status === 404 || res.status === 410 || res.status === 403) {
              // Expired, terminated, or another credential's: start anew.
              forget();
              upload = null;
              continue;
            }
            if (res.status < 200 || res.status > 299) throw errorFromResponse(res.status, res.text);
            if (res.headers['upload-cid']) return finish(job, file, res.headers['upload-cid'], forget);
            offset = Number(res.headers['upload-offset']);
            if (!Number.isFinite(offset) || offset < 0) throw new NinjaError(res.status, 'BAD_RESPONSE', 'the tus HEAD answered no Upload-Offset');
            job.progress(offset);
          }
          const end = Math.min(offset + chunkSize, file.size);
          let chunk = file.slice(offset, end);
          const headers = { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' };
          if (r.checksum && subtle()) {
            // tus's checksum extension: ninja discards a chunk whose bytes
            // do not match (460) and this loop sends it again.
            const bytes = await chunk.arrayBuffer();
            headers['Upload-Checksum'] = `sha256 ${bufferB64(await subtle().digest('SHA-256', bytes))}`;
            chunk = new Blob([bytes]);
          }
          const start = offset;
          const res = await call('PATCH', upload, headers, { body: chunk, onProgress: (sent) => job.progress(start + Math.min(sent, chunk.size)) });
          if (res.status !== 204 && res.status !== 200) throw errorFromResponse(res.status, res.text);
          offset = Number(res.headers['upload-offset']);
          delays = [...(r.retryDelays || RETRY_DELAYS)]; // progress was made: the next failure has every retry again
          if (res.headers['upload-cid']) return finish(job, file, res.headers['upload-cid'], forget);
          if (!Number.isFinite(offset) || offset <= start) throw new NinjaError(res.status, 'BAD_RESPONSE', 'the tus PATCH did not move the offset');
          if (offset >= file.size) offset = -1; // all sent, no CID: the HEAD pins it
        } catch (err) {
          if (err && err.name === 'AbortError') throw err;
          if (job.signal && job.signal.aborted) throw abortError(job.signal);
          if (err instanceof NinjaError && err.status === 401 && err.reason === 'TOKEN_EXPIRED' && job.canRefresh && !refreshed) {
            // The upload belongs to the expired credential and cannot be
            // continued by another: the file starts over under a new one.
            refreshed = true;
            forget();
            upload = null;
            authorization = await job.authorize(true);
            continue;
          }
          if (!retriable(err) || delays.length === 0) throw err;
          await sleepFor(delays.shift(), job.signal);
          offset = -1;
        }
      }
    } catch (err) {
      // An abort terminates the upload (its bytes deleted, the token's use
      // given back) before upload() rejects, so the app may start another.
      if (job.signal && job.signal.aborted) {
        await terminate();
        throw abortError(job.signal);
      }
      throw err;
    }
  },
};

// finish is the upload's result in the shape of POST /upload's answer.
// The tus response carries only the CID; the rest is what the client sent
// (mimeType as declared: ninja's sniffed type is in the pin's record).
function finish(job, file, cid, forget) {
  forget();
  job.progress(file.size);
  const base = job.url || (typeof location === 'object' ? location.origin : '');
  const name = job.fields.name && !String(job.fields.name).includes('/') ? job.fields.name : job.files[0].path;
  return {
    cid, size: file.size, sizeMB: Math.round((file.size / (1 << 20)) * 1e6) / 1e6,
    uris: { ipfs: `ipfs://${cid}`, url: `${base}/ipfs/${cid}` },
    name, mimeType: file.type || 'application/octet-stream', resumable: true,
  };
}

// TUS_HEADERS are the response headers a tus request reads.
const TUS_HEADERS = ['location', 'upload-offset', 'upload-cid', 'upload-length'];

// tusRequest sends one tus request: a PATCH's body with byte progress (as
// POST /upload's), the others with fetch. It answers {status, text,
// headers} (the header names lower-case) or rejects with NETWORK_ERROR or
// an AbortError.
async function tusRequest(job, method, url, headers, { body, onProgress } = {}) {
  if (body) return send({ url, method, headers, body, signal: job.signal, fetch: job.fetch, onProgress: onProgress || (() => {}), responseHeaders: TUS_HEADERS });
  let resp;
  try {
    resp = await job.fetch(url, { method, headers, signal: job.signal, cache: 'no-store' });
  } catch (err) {
    if (job.signal && job.signal.aborted) throw abortError(job.signal);
    throw new NinjaError(0, 'NETWORK_ERROR', `${method} ${url} failed (${err.message})`, { cause: err });
  }
  const out = {};
  for (const h of TUS_HEADERS) out[h] = resp.headers.get(h) || '';
  return { status: resp.status, text: method === 'HEAD' ? '' : await resp.text(), headers: out };
}
