// Drives ninja.js as an app would; the Go test calls window.suite.* and
// checks what the server recorded. ?lib= is ninja's URL (the library is
// imported from there), ?api= where requests go (ninja itself, or the test
// server's throttling proxy in front of it).
const q = new URLSearchParams(location.search);
const { Ninja, NinjaError } = await import(`${q.get('lib')}/js/ninja.js`);
const api = q.get('api');

const log = (text, cls = '') => {
  const li = document.createElement('li');
  li.textContent = text;
  if (cls) li.className = cls;
  document.getElementById('log').append(li);
};

// bytes is the same deterministic content the Go test rebuilds.
export function bytes(n, seed) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 251;
  return b;
}

// backend mints an upload token through the page's own server.
async function backend(params) {
  const resp = await fetch(`/token?${new URLSearchParams(params)}`);
  if (!resp.ok) throw new Error(`token: ${resp.status}`);
  return resp.json();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

window.suite = {
  // One file; every progress event is kept.
  async progress(size) {
    const { token } = await backend({ expiresIn: '1h' });
    const ninja = new Ninja({ url: api, token });
    const events = [];
    const res = await ninja.upload(new File([bytes(size, 7)], 'progress.bin'), { onProgress: (p) => events.push([p.loaded, p.total]) });
    log(`progress: ${events.length} events, last ${events.at(-1)}; ${res.cid}`, 'ok');
    return { cid: res.cid, events };
  },

  // A batch of files, one after another, with a short-lived token that
  // getToken renews (reasons: why it was asked).
  async batch({ files, gapMs, expiresIn, margin, bare }) {
    const reasons = [];
    let n = 0;
    const ninja = new Ninja({
      url: api,
      refreshMargin: margin,
      getToken: async ({ reason }) => {
        reasons.push(reason);
        // bare: the first token alone is short-lived and given without its
        // expiry, so only the server's 401 TOKEN_EXPIRED can tell.
        const t = await backend({ expiresIn: bare && n++ > 0 ? 3600 : expiresIn });
        return bare ? t.token : { token: t.token, expiresAt: t.expiresAt };
      },
    });
    const cids = [];
    for (let i = 0; i < files; i++) {
      if (i) await sleep(gapMs);
      cids.push((await ninja.upload(new File([bytes(64 * 1024 + i, i)], `batch-${i}.bin`))).cid);
    }
    log(`batch of ${files}: getToken asked for ${reasons.join(', ')}`, 'ok');
    return { cids, reasons };
  },

  // An upload aborted at abortAt bytes.
  async abort({ size, abortAt }) {
    const t = await backend({ expiresIn: '1h' });
    const ninja = new Ninja({ url: api, token: t.token });
    const ctl = new AbortController();
    let at = 0;
    try {
      await ninja.upload(new File([bytes(size, 3)], 'aborted.bin'), {
        signal: ctl.signal,
        onProgress: (p) => { if (!at && p.loaded >= abortAt) { at = p.loaded; ctl.abort(); } },
      });
      return { error: 'the upload finished', tokenId: t.tokenId };
    } catch (err) {
      log(`aborted at ${at} bytes: ${err.name}`, 'ok');
      return { name: err.name, isNinjaError: err instanceof NinjaError, at, tokenId: t.tokenId };
    }
  },

  // One file over tus (above a small forced threshold, in small chunks),
  // and the same bytes again with one POST /upload, for their CIDs.
  async tus({ size, threshold, chunkSize }) {
    const { token } = await backend({ expiresIn: '1h' });
    const ninja = new Ninja({ url: api, token, resumableThreshold: threshold, chunkSize });
    const events = [];
    let remembered = false;
    const data = bytes(size, 9);
    const res = await ninja.upload(new File([data], 'resumable.bin'), {
      onProgress: (p) => {
        events.push([p.loaded, p.total]);
        if (Object.keys(localStorage).some((k) => k.startsWith('ninja-tus:'))) remembered = true;
      },
    });
    const left = Object.keys(localStorage).filter((k) => k.startsWith('ninja-tus:')).length;
    const plain = await new Ninja({ url: api, token, resumableThreshold: Infinity }).upload(new File([data], 'resumable.bin'));
    log(`tus: ${events.length} events, last ${events.at(-1)}; ${res.cid} (multipart ${plain.cid})`, 'ok');
    return { cid: res.cid, resumable: res.resumable === true, events, remembered, left, multipartCid: plain.cid, size: res.size };
  },

  // One file over tus, always the same bytes, name and lastModified (so a
  // reloaded page finds the upload it remembered), with a fixed token (only
  // the creating credential may continue an upload). retryDelays [] fails
  // at the first network error.
  async tusResume({ size, chunkSize, token, retryDelays }) {
    const ninja = new Ninja({ url: api, token, resumableThreshold: 0, chunkSize, retryDelays });
    const file = new File([bytes(size, 5)], 'resumed.bin', { lastModified: 1700000000000 });
    const events = [];
    try {
      const res = await ninja.upload(file, { onProgress: (p) => events.push(p.loaded) });
      log(`tus resume: ${res.cid}`, 'ok');
      return { cid: res.cid, events };
    } catch (err) {
      log(`tus resume failed: ${err.reason || err.name}`, 'error');
      return { reason: err.reason || err.name, events, remembered: Object.keys(localStorage).filter((k) => k.startsWith('ninja-tus:')).length };
    }
  },

  // A file the token's allowedMimeTypes refuse: shown with its reason.
  async refusal() {
    const { token } = await backend({ expiresIn: '1h', mime: 'image/png' });
    const ninja = new Ninja({ url: api, token });
    try {
      await ninja.upload(new File(['plain text, not an image'], 'notes.txt', { type: 'text/plain' }));
      return { error: 'the upload was accepted' };
    } catch (err) {
      const box = document.getElementById('refusal');
      box.textContent = `Refused (${err.status} ${err.reason}): ${err.details}`;
      box.hidden = false;
      return { isNinjaError: err instanceof NinjaError, status: err.status, reason: err.reason, details: err.details };
    }
  },
};
document.getElementById('ready').hidden = false;
