// useNinjaUpload for React: upload with progress, keeping uploading,
// progress, error and result as state. React is the app's own (a peer
// dependency): this file imports it by name and bundles nothing.
//
//   const { upload, uploading, progress, error, result } = useNinjaUpload({ url, getToken });
//   <input type="file" onChange={(e) => upload(e.target.files[0])} />
import { useCallback, useEffect, useRef, useState } from 'react';
import { Ninja } from './ninja.js';

const idle = { uploading: false, progress: 0, loaded: 0, total: 0, error: null, result: null };

/**
 * useNinjaUpload takes a Ninja, or the options to make one ({url, token |
 * getToken}; read once, on the first render), and returns
 * {upload, abort, reset, uploading, progress (0-100), loaded, total, error,
 * result}. upload(files, options) resolves to the result, or to null when
 * it failed or was aborted (error then says why; an abort is not an error).
 */
export function useNinjaUpload(clientOrOptions) {
  const client = useRef(null);
  if (client.current === null) {
    client.current = clientOrOptions instanceof Ninja ? clientOrOptions : new Ninja(clientOrOptions);
  }
  const [state, setState] = useState(idle);
  const controller = useRef(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      // An upload still running when the component goes away is aborted:
      // nobody is left to see its result.
      mounted.current = false;
      if (controller.current) controller.current.abort();
    };
  }, []);

  const set = useCallback((patch) => { if (mounted.current) setState((s) => ({ ...s, ...patch })); }, []);

  const upload = useCallback(async (files, options = {}) => {
    if (controller.current) controller.current.abort();
    const ctl = new AbortController();
    controller.current = ctl;
    if (options.signal) options.signal.addEventListener('abort', () => ctl.abort(options.signal.reason), { once: true });
    set({ ...idle, uploading: true });
    try {
      const result = await client.current.upload(files, {
        ...options,
        signal: ctl.signal,
        onProgress: (p) => {
          if (controller.current === ctl) set({ loaded: p.loaded, total: p.total, progress: p.total ? (100 * p.loaded) / p.total : 100 });
          if (options.onProgress) options.onProgress(p);
        },
      });
      if (controller.current === ctl) set({ uploading: false, result, progress: 100 });
      return result;
    } catch (error) {
      const aborted = error && error.name === 'AbortError';
      if (controller.current === ctl) set({ uploading: false, error: aborted ? null : error });
      return null;
    } finally {
      if (controller.current === ctl) controller.current = null;
    }
  }, [set]);

  const abort = useCallback(() => { if (controller.current) controller.current.abort(); }, []);
  const reset = useCallback(() => { abort(); set(idle); }, [abort, set]);

  return { ...state, upload, abort, reset, client: client.current };
}
