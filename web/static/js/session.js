// The dashboard's session: the credential (in this tab's sessionStorage
// only), what GET /auth/whoami said it may do, and the client library
// (/js/ninja.js) every request goes through.
import { Ninja, NinjaError } from '/js/ninja.js';

const KEY = 'ninja.apiKey';
// An upload-only credential handed from the sign-in form to the upload
// page, so it never travels in a URL.
export const UPLOAD_KEY = 'ninja.uploadCredential';

export const session = {
  credential: '',
  who: null, // {kind, prefix, scopes, accountId, accountName, expiresAt}
  client: null,
};

const listeners = new Set();

/** onSignOut registers fn(message) for when the server stops accepting the credential. */
export function onSignOut(fn) { listeners.add(fn); }

/** can reports whether the session's credential has scope s (admin implies all). */
export function can(s) {
  const scopes = (session.who && session.who.scopes) || [];
  return scopes.includes(s) || scopes.includes('admin');
}

/** kindLabel names a credential kind ("api_key") for people ("API key"). */
export function kindLabel(kind) {
  return { api_key: 'API key', upload_token: 'upload token', access_jwt: 'access JWT', upload_jwt: 'upload JWT' }[kind] || kind;
}

/** isKind reports the credential's kind ("api_key", "access_jwt", …). */
export const isKind = (k) => Boolean(session.who && session.who.kind === k);

/** storedCredential is the credential kept by an earlier sign-in in this tab. */
export const storedCredential = () => sessionStorage.getItem(KEY) || '';

// uploadOnlyKind tells a credential that can only upload from its form
// alone, without presenting it: an upload token (sup_…) or a client-minted
// upload JWT (HS256, header kid usk_…), which a request would spend.
export function uploadOnlyKind(cred) {
  if (cred.startsWith('sup_')) return true;
  const head = cred.split('.');
  if (head.length !== 3) return false;
  try {
    const h = JSON.parse(atob(head[0].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof h.kid === 'string' && h.kid.startsWith('usk_');
  } catch {
    return false;
  }
}

/** begin asks the server what cred may do and, on success, keeps it. */
export async function begin(cred) {
  const client = new Ninja({ token: cred });
  const who = await client.request('GET', '/auth/whoami');
  sessionStorage.setItem(KEY, cred);
  Object.assign(session, { credential: cred, who, client });
  return who;
}

/** end forgets the credential. */
export function end() {
  sessionStorage.removeItem(KEY);
  Object.assign(session, { credential: '', who: null, client: null });
}

/**
 * call is the client's request() for the session; a 401 (the credential was
 * revoked or expired) signs out.
 */
export async function call(method, path, opts) {
  if (!session.client) throw new NinjaError(401, 'UNAUTHORIZED', 'not signed in');
  try {
    return await session.client.request(method, path, opts);
  } catch (err) {
    if (err instanceof NinjaError && err.status === 401) {
      end();
      for (const fn of listeners) fn('The server no longer accepts this credential. Sign in again.');
    }
    throw err;
  }
}

/** explain turns an error into a sentence for people. */
export function explain(err) {
  if (!(err instanceof NinjaError)) return String(err && err.message ? err.message : err);
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
    case 'INSUFFICIENT_FUNDS': return `The account's quota is used up${d}.`;
    case 'UNAUTHORIZED': return `Not signed in or the credential is not valid${d}.`;
    case 'FORBIDDEN': return `This credential is not allowed to do that${d}.`;
    case 'NETWORK_ERROR': return err.details;
  }
  return `${err.reason}${d}`;
}

export { NinjaError };
