// A React app using useNinjaUpload from ninja's /js/react.js. ?lib= is
// ninja's URL, ?api= where uploads go, ?mime= a type the token allows.
const q = new URLSearchParams(location.search);
const { useNinjaUpload } = await import(`${q.get('lib')}/js/react.js`);
const { createElement: h, useEffect } = window.React;

window.seen = []; // every progress value the component rendered

async function getToken() {
  const params = new URLSearchParams({ expiresIn: '1h' });
  if (q.get('mime')) params.set('mime', q.get('mime'));
  return (await fetch(`/token?${params}`)).json();
}

function Uploader() {
  const { upload, uploading, progress, error, result } = useNinjaUpload({ url: q.get('api'), getToken });
  useEffect(() => { window.seen.push(progress); }, [progress]);
  const state = uploading ? 'uploading' : result ? 'done' : error ? 'failed' : 'idle';
  return h('main', null,
    h('h1', null, 'useNinjaUpload in React'),
    h('label', { htmlFor: 'file' }, 'File to upload'),
    h('input', { id: 'file', type: 'file', onChange: (e) => upload(e.target.files[0]) }),
    h('progress', { id: 'bar', max: 100, value: progress, 'aria-label': 'Upload progress' }),
    h('p', { id: 'state', 'data-state': state }, `${state} ${Math.round(progress)}%`),
    result && h('p', { id: 'cid' }, result.cid),
    error && h('p', { id: 'error', className: 'error', role: 'alert' }, `${error.reason}: ${error.details}`));
}

window.ReactDOM.createRoot(document.getElementById('root')).render(h(Uploader));
