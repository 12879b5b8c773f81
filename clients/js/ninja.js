// ninja's client library: an ES module with no dependencies, for browsers
// and Node 20+. It uploads with real byte progress, refreshes an expiring
// credential through getToken, and turns ninja's error answers
// ({"error":{"reason","details"}}) into NinjaError.
//
//   import { Ninja } from 'https://pin.example.com/js/ninja.js';
//   const ninja = new Ninja({ url: 'https://pin.example.com', getToken });
//   const { cid } = await ninja.upload(file, { onProgress: (p) => bar.value = p.loaded / p.total });
//
// Uploads go through a transport. The one built in is multipart
// (POST /upload); a resumable transport (tus) can be put in front of it with
// the `transports` option without changing upload()'s signature or result.

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
  constructor({ url = '', token, getToken, refreshMargin = REFRESH_MARGIN, transports, fetch: fetchImpl } = {}) {
    if (!token && typeof getToken !== 'function') throw new TypeError('new Ninja needs a token or a getToken function');
    this.#url = String(url).replace(/\/+$/, '');
    this.#static = token ? credential(token) : null;
    this.#getToken = typeof getToken === 'function' ? getToken : null;
    this.#margin = refreshMargin;
    this.#transports = [...(transports || []), multipartTransport];
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
  async upload(fileOrFiles, { onProgress, signal, metadata, name, description, cidVersion, wrapWithDirectory } = {}) {
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
    const job = { url: this.#url, files, fields, total, signal, progress, fetch: this.#fetch, withAuth: (send) => this.#withAuth(send) };
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

function sendXHR({ url, headers, body, signal, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const done = () => { if (signal) signal.removeEventListener('abort', onAbort); };
    xhr.open('POST', url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.upload.onload = () => onProgress(body.size);
    xhr.onload = () => { done(); resolve({ status: xhr.status, text: xhr.responseText || '' }); };
    xhr.onerror = () => { done(); reject(new NinjaError(0, 'NETWORK_ERROR', 'the connection failed during the upload')); };
    xhr.onabort = () => { done(); reject(abortError(signal)); };
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}

// STREAM_CHUNK is the slice a streamed body is read in: progress moves in
// steps of at most this many bytes.
const STREAM_CHUNK = 64 * 1024;

async function sendFetch({ url, headers, body, signal, onProgress, fetch: fetchImpl }) {
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
    resp = await fetchImpl(url, { method: 'POST', headers, body: stream, duplex: 'half', signal });
    return { status: resp.status, text: await resp.text() };
  } catch (err) {
    if (signal && signal.aborted) throw abortError(signal);
    throw new NinjaError(0, 'NETWORK_ERROR', `the upload to ${url} failed (${err.message})`, { cause: err });
  }
}
