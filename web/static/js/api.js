// The HTTP API as the UI uses it. The credential is passed in by the caller
// as a full Authorization header value ("Bearer bws_…" or "Signed sup_…").

// ApiError carries the API's error shape: {"error":{"reason","details"}}.
export class ApiError extends Error {
  constructor(status, reason, details) {
    super(details || reason || `HTTP ${status}`);
    this.status = status;
    this.reason = reason || (status ? `HTTP_${status}` : 'NETWORK_ERROR');
    this.details = details || '';
  }
}

function errorFrom(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error) return new ApiError(status, body.error.reason, body.error.details);
  } catch { /* not JSON */ }
  return new ApiError(status, '', text.trim().slice(0, 200) || `HTTP ${status}`);
}

// api calls an endpoint and returns its JSON body, or throws an ApiError.
export async function api(auth, method, path, body) {
  const headers = {};
  if (auth) headers.Authorization = auth;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', `The server could not be reached (${e.message}).`);
  }
  const text = await resp.text();
  if (!resp.ok) throw errorFrom(resp.status, text);
  return text ? JSON.parse(text) : null;
}

// upload sends one file as POST /upload multipart/form-data with real byte
// progress. fields (name, …) go before the file part, as the API requires;
// path is the file name sent, which may be a relative path ("site/a.txt").
// Returns {promise, abort}; the promise resolves to the upload result.
export function upload(auth, file, { path, fields = {}, onProgress } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined && v !== null && v !== '') form.append(k, v);
    }
    form.append('file', file, path || file.name);
    xhr.open('POST', '/upload');
    if (auth) xhr.setRequestHeader('Authorization', auth);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => {
      if (onProgress) onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try { resolve(JSON.parse(xhr.responseText)); } catch { reject(new ApiError(xhr.status, 'BAD_RESPONSE', 'The server sent an unreadable answer.')); }
      } else {
        reject(errorFrom(xhr.status, xhr.responseText || ''));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK_ERROR', 'The connection failed during the upload.'));
    xhr.onabort = () => reject(new ApiError(0, 'CANCELED', 'Upload canceled.'));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

// explain turns an API error into a sentence for people.
export function explain(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  const d = err.details ? ` (${err.details})` : '';
  switch (err.reason) {
    case 'SIZE_EXCEEDED': return `Too large: the file is over the size limit${d}.`;
    case 'MIME_NOT_ALLOWED': return `This file type is not allowed${d}.`;
    case 'TOKEN_EXPIRED': return 'This upload token has expired. Ask for a new link.';
    case 'TOKEN_REVOKED': return 'This upload token was revoked. Ask for a new link.';
    case 'TOKEN_EXHAUSTED': return 'This upload token has no uploads left.';
    case 'IP_NOT_ALLOWED': return 'Uploads with this token are not allowed from your network.';
    case 'ORIGIN_NOT_ALLOWED': return 'This token may not be used from this site.';
    case 'RATE_LIMITED': return 'Too many requests; wait a moment and try again.';
    case 'UNAUTHORIZED': return `Not signed in or the credential is not valid${d}.`;
    case 'FORBIDDEN': return `This credential is not allowed to do that${d}.`;
    case 'NETWORK_ERROR': case 'CANCELED': return err.details;
  }
  return `${err.reason}${d}`;
}
