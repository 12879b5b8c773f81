// A Vue app using useNinjaUpload from ninja's /js/vue.js. ?lib= is ninja's
// URL, ?api= where uploads go, ?mime= a type the token allows.
import { createApp, h, watch } from 'vue';

const q = new URLSearchParams(location.search);
const { useNinjaUpload } = await import(`${q.get('lib')}/js/vue.js`);

window.seen = []; // every progress value the refs took

async function getToken() {
  const params = new URLSearchParams({ expiresIn: '1h' });
  if (q.get('mime')) params.set('mime', q.get('mime'));
  return (await fetch(`/token?${params}`)).json();
}

createApp({
  setup() {
    const { upload, uploading, progress, error, result } = useNinjaUpload({ url: q.get('api'), getToken });
    watch(progress, (p) => window.seen.push(p), { immediate: true });
    return () => {
      const state = uploading.value ? 'uploading' : result.value ? 'done' : error.value ? 'failed' : 'idle';
      return h('main', [
        h('h1', 'useNinjaUpload in Vue'),
        h('label', { for: 'file' }, 'File to upload'),
        h('input', { id: 'file', type: 'file', onChange: (e) => upload(e.target.files[0]) }),
        h('progress', { id: 'bar', max: 100, value: progress.value, 'aria-label': 'Upload progress' }),
        h('p', { id: 'state', 'data-state': state }, `${state} ${Math.round(progress.value)}%`),
        result.value && h('p', { id: 'cid' }, result.value.cid),
        error.value && h('p', { id: 'error', class: 'error', role: 'alert' }, `${error.value.reason}: ${error.value.details}`),
      ]);
    };
  },
}).mount('#app');
