// Type declarations of ninja.js, ninja's browser and Node client.

/** A credential as getToken may return it. expiresAt is unix milliseconds (as ninja's token endpoints answer), a Date or an ISO string. */
export type TokenResult = string | { token: string; expiresAt?: number | Date | string };

/** Why getToken is called: the first request, a credential about to expire, or one the server said has expired. */
export interface GetTokenContext {
  reason: 'initial' | 'expiring' | 'expired';
}

export interface NinjaOptions {
  /** The server's base URL, e.g. "https://pin.example.com"; '' or absent: this page's origin. */
  url?: string;
  /** A fixed credential: an API key (bws_…), an upload token (sup_…) or a JWT. */
  token?: string;
  /** Called for a credential when there is none yet, when the current one is within refreshMargin of its expiry, and once when the server answers 401 TOKEN_EXPIRED (the request is then retried once). Concurrent callers share one call. */
  getToken?: (ctx: GetTokenContext) => TokenResult | Promise<TokenResult>;
  /** How long before its expiresAt a credential is replaced, in milliseconds (default 30000). */
  refreshMargin?: number;
  /** Upload transports tried in order before the built-in multipart one (for a resumable transport). */
  transports?: UploadTransport[];
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Defaults of the upload options of the same names (see UploadOptions). */
  resumableThreshold?: number;
  chunkSize?: number;
  retryDelays?: number[];
  storage?: ResumableStorage | null;
  checksum?: boolean;
}

/** Where the URLs of resumable uploads in progress are remembered, keyed by the file's fingerprint (server, path, size, lastModified, type): localStorage's subset. */
export interface ResumableStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Bytes of the files sent so far, of total. The last event has loaded === total. */
export interface UploadProgress {
  loaded: number;
  total: number;
}

/** A file with the path to store it under ("site/index.html"). */
export interface FileEntry {
  file: Blob;
  path?: string;
}

export type UploadInput = Blob | FileEntry | ArrayLike<Blob | FileEntry> | Iterable<Blob | FileEntry>;

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  /** Aborting rejects the upload with an AbortError (a DOMException) and ninja records nothing. */
  signal?: AbortSignal;
  /** Stored with the pin: string, number or boolean values. */
  metadata?: Record<string, string | number | boolean>;
  /** The pin's name (default: the file's name). */
  name?: string;
  description?: string;
  cidVersion?: 0 | 1;
  wrapWithDirectory?: boolean;
  /**
   * One file larger than this many bytes goes over tus (resumable, /tus/) instead of one POST /upload
   * (default 64 MiB). 0 sends every non-empty single file over tus; Infinity never.
   */
  resumableThreshold?: number;
  /** Bytes per tus PATCH (default 16 MiB): a lost connection costs at most one chunk. */
  chunkSize?: number;
  /** Waits in ms before each retry of a tus request after a network or server error (default [0, 1000, 3000, 5000, 10000]); the count resets when a chunk gets through. */
  retryDelays?: number[];
  /** Where a tus upload's URL is remembered so the same file resumes after a reload (default localStorage when there is one; null: nowhere). */
  storage?: ResumableStorage | null;
  /** Send each tus chunk's SHA-256 (Upload-Checksum) so ninja discards a damaged one and it is sent again (default true; skipped where WebCrypto is absent: plain-HTTP pages other than localhost). */
  checksum?: boolean;
}

/** ninja's upload answer. */
export interface UploadResult {
  cid: string;
  size: number;
  sizeMB: number;
  name?: string;
  mimeType?: string;
  created?: string;
  uris: { ipfs: string; url: string };
  /** True when the file went over tus (mimeType is then the declared type; created is absent). */
  resumable?: boolean;
  [field: string]: unknown;
}

export interface PinOptions {
  /** Multiaddrs of peers that have the data (dialled first). */
  origins?: string[];
  name?: string;
  description?: string;
  metadata?: Record<string, string | number | boolean>;
  signal?: AbortSignal;
}

/** Options of publish: sequence (above the current), lifetime and ttl (seconds or "48h"). */
export interface PublishOptions {
  sequence?: number;
  lifetime?: number | string;
  ttl?: number | string;
  signal?: AbortSignal;
}

/** An IPNS name as POST /names/{name} answers it. */
export interface IPNSName {
  name: string;
  ipnsName: string;
  path: string;
  value?: string;
  sequence: number;
  validity?: string;
  ttl?: number;
  url?: string;
}

/** The answer of GET /pins/{cid} and POST /pin. */
export interface PinStatus {
  cid: string;
  pinned: boolean;
  status: 'queued' | 'pinning' | 'pinned' | 'failed' | 'unpinned';
  created?: string;
  pinnedSince?: string;
  name?: string;
  description?: string;
  metadata?: Record<string, string>;
  size?: number;
  dagSize?: number;
  requestId?: string;
  /** Why a failed pin failed. */
  reason?: string;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Return {items, next} from a paged list (the X-Next-Cursor header). */
  page?: boolean;
}

export interface Page<T> {
  items: T[];
  /** Pass as query.cursor for the next page; '' on the last. */
  next: string;
}

/** What a transport is handed for one upload. */
export interface UploadJob {
  url: string;
  files: { file: Blob; path: string }[];
  fields: Record<string, string | number | boolean | undefined>;
  total: number;
  signal?: AbortSignal;
  /** Report bytes of the files sent. */
  progress(loaded: number): void;
  fetch: typeof fetch;
  /** Run send with an Authorization header value; retried once with a new credential after 401 TOKEN_EXPIRED. */
  withAuth<R extends { status: number; text: string }>(send: (authorization: string) => Promise<R>): Promise<R>;
  /** The Authorization header value for the next request; force: the last one expired, ask getToken anew. */
  authorize(force?: boolean): Promise<string>;
  /** Whether a new credential can be had (a getToken was given). */
  canRefresh: boolean;
  /** The resumable options of this upload. */
  resumable: { threshold: number; chunkSize: number; retryDelays: number[]; checksum: boolean; storage: ResumableStorage | null };
}

export interface UploadTransport {
  name: string;
  accepts(job: UploadJob): boolean;
  upload(job: UploadJob): Promise<UploadResult>;
}

export declare const multipartTransport: UploadTransport;
/** The built-in resumable transport: one file over tus (create, PATCH in chunks, HEAD to resume, DELETE on abort). */
export declare const tusTransport: UploadTransport;

export declare function multipartBody(
  files: { file: Blob; path: string }[],
  fields: Record<string, unknown>,
): { body: Blob; contentType: string; fileBytes(sent: number): number };

/** ninja's error answer ({"error":{"reason","details"}}), or a network failure (status 0, reason NETWORK_ERROR). */
export declare class NinjaError extends Error {
  constructor(status: number, reason: string, details?: string, options?: { cause?: unknown });
  readonly name: 'NinjaError';
  /** The HTTP status; 0 when no answer arrived. */
  status: number;
  /** ninja's reason code: UNAUTHORIZED, TOKEN_EXPIRED, SIZE_EXCEEDED, MIME_NOT_ALLOWED, … */
  reason: string;
  details: string;
}

export declare function errorFromResponse(status: number, text: string): NinjaError;

export declare class Ninja {
  constructor(options: NinjaOptions);
  readonly url: string;
  /** Upload one file (its CID) or several (a directory's CID). Progress is in the files' bytes. */
  upload(files: UploadInput, options?: UploadOptions): Promise<UploadResult>;
  /** Pin a CID from the network (answered when queued). */
  pin(cid: string, options?: PinOptions): Promise<PinStatus>;
  /** Whether, and since when, a CID is pinned. */
  status(cid: string, options?: { signal?: AbortSignal }): Promise<PinStatus>;
  /** Point an IPNS name (label or k51…) at /ipfs/{cid}[/path] or a CID; ninja signs the record. */
  publish(name: string, value: string, options?: PublishOptions): Promise<IPNSName>;
  /** Call any endpoint with the client's credential. */
  request<T = unknown>(method: string, path: string, options?: RequestOptions & { page?: false }): Promise<T>;
  request<T = unknown>(method: string, path: string, options: RequestOptions & { page: true }): Promise<Page<T>>;
}
