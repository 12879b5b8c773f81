// useNinjaUpload for Vue 3: upload with progress, keeping uploading,
// progress, error and result as refs. Vue is the app's own (a peer
// dependency): this file imports it by name and bundles nothing.
//
//   const { upload, uploading, progress, error, result } = useNinjaUpload({ url, getToken });
//   <input type="file" @change="upload($event.target.files[0])">
import { getCurrentScope, onScopeDispose, ref, shallowRef } from 'vue';
import { Ninja } from './ninja.js';

/**
 * useNinjaUpload takes a Ninja, or the options to make one ({url, token |
 * getToken}), and returns {upload, abort, reset, uploading, progress
 * (0-100), loaded, total, error, result, client}, the state as refs.
 * upload(files, options) resolves to the result, or to null when it failed
 * or was aborted (error then says why; an abort is not an error).
 */
export function useNinjaUpload(clientOrOptions) {
  const client = clientOrOptions instanceof Ninja ? clientOrOptions : new Ninja(clientOrOptions);
  const uploading = ref(false);
  const progress = ref(0);
  const loaded = ref(0);
  const total = ref(0);
  const error = shallowRef(null);
  const result = shallowRef(null);
  let controller = null;

  const clear = () => {
    uploading.value = false;
    progress.value = 0;
    loaded.value = 0;
    total.value = 0;
    error.value = null;
    result.value = null;
  };

  async function upload(files, options = {}) {
    if (controller) controller.abort();
    const ctl = new AbortController();
    controller = ctl;
    if (options.signal) options.signal.addEventListener('abort', () => ctl.abort(options.signal.reason), { once: true });
    clear();
    uploading.value = true;
    const current = () => controller === ctl;
    try {
      const res = await client.upload(files, {
        ...options,
        signal: ctl.signal,
        onProgress: (p) => {
          if (current()) {
            loaded.value = p.loaded;
            total.value = p.total;
            progress.value = p.total ? (100 * p.loaded) / p.total : 100;
          }
          if (options.onProgress) options.onProgress(p);
        },
      });
      if (current()) {
        result.value = res;
        progress.value = 100;
      }
      return res;
    } catch (err) {
      if (current() && !(err && err.name === 'AbortError')) error.value = err;
      return null;
    } finally {
      if (current()) {
        uploading.value = false;
        controller = null;
      }
    }
  }

  const abort = () => { if (controller) controller.abort(); };
  const reset = () => { abort(); clear(); };

  // Used in a component's setup (or any effect scope): an upload still
  // running when it is torn down is aborted.
  if (getCurrentScope()) onScopeDispose(abort);

  return { upload, abort, reset, uploading, progress, loaded, total, error, result, client };
}
