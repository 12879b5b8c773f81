// Type declarations of vue.js: the useNinjaUpload composable.
import type { Ref, ShallowRef } from 'vue';
import type { Ninja, NinjaOptions, UploadInput, UploadOptions, UploadResult } from './ninja.js';

export interface NinjaUpload {
  /** True from upload() until it settles. */
  uploading: Ref<boolean>;
  /** Percent of the files' bytes sent, 0 to 100. */
  progress: Ref<number>;
  /** Bytes of the files sent, and their total. */
  loaded: Ref<number>;
  total: Ref<number>;
  /** Why the last upload failed (a NinjaError, usually); null after an abort. */
  error: ShallowRef<Error | null>;
  /** The last upload's answer. */
  result: ShallowRef<UploadResult | null>;
  /** Starts an upload (aborting one in flight); resolves to its result, or null when it failed or was aborted. */
  upload(files: UploadInput, options?: UploadOptions): Promise<UploadResult | null>;
  abort(): void;
  /** Aborts and clears the state. */
  reset(): void;
  client: Ninja;
}

export declare function useNinjaUpload(clientOrOptions: Ninja | NinjaOptions): NinjaUpload;
