// Type declarations of react.js: the useNinjaUpload hook.
import type { Ninja, NinjaOptions, UploadInput, UploadOptions, UploadResult } from './ninja.js';

export interface NinjaUploadState {
  /** True from upload() until it settles. */
  uploading: boolean;
  /** Percent of the files' bytes sent, 0 to 100. */
  progress: number;
  /** Bytes of the files sent, and their total. */
  loaded: number;
  total: number;
  /** Why the last upload failed (a NinjaError, usually); null after an abort. */
  error: Error | null;
  /** The last upload's answer. */
  result: UploadResult | null;
}

export interface NinjaUpload extends NinjaUploadState {
  /** Starts an upload (aborting one in flight); resolves to its result, or null when it failed or was aborted. */
  upload(files: UploadInput, options?: UploadOptions): Promise<UploadResult | null>;
  abort(): void;
  /** Aborts and clears the state. */
  reset(): void;
  client: Ninja;
}

/** The options are read on the first render only. */
export declare function useNinjaUpload(clientOrOptions: Ninja | NinjaOptions): NinjaUpload;
