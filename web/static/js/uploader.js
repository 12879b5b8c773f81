// The upload widget shared by the dashboard and the public upload page: a
// drop zone with file and folder pickers, then one list entry per file with
// a real byte-progress bar, its CID and gateway link, or its error. The
// uploads themselves are the client library's (/js/ninja.js), as any app's.
import { explain } from './session.js';
import { el, formatBytes, copyButton, gatewayPath } from './util.js';

let seq = 0;

// createUploader renders into root. opts:
//   client()        the Ninja client to upload with
//   precheck(file)  an error message to refuse a file before sending it, or ''
//   onFinished()    called when a batch has settled
//   concurrency     uploads in flight at once (default 3)
export function createUploader(root, opts) {
  const id = `up${++seq}`;
  const filesInput = el('input', { type: 'file', multiple: true, id: `${id}-files` });
  const folderInput = el('input', { type: 'file', multiple: true, webkitdirectory: true, id: `${id}-folder` });
  const zone = el('div', { class: 'dropzone', id: `${id}-zone` },
    el('p', {}, 'Drag and drop files or a folder here, or'),
    el('div', { class: 'actions', id: `${id}-pickers` },
      el('label', { class: 'picker' }, filesInput, el('span', { class: 'button primary' }, 'Choose files')),
      el('label', { class: 'picker' }, folderInput, el('span', { class: 'button' }, 'Choose a folder'))));
  const list = el('ul', { class: 'uploads', id: `${id}-list`, 'aria-live': 'polite' });
  root.replaceChildren(zone, list);
  zone.querySelector('.actions').classList.add('center');

  let enabled = true;
  const queue = [];
  let running = 0;

  const add = (entries) => {
    if (!enabled || entries.length === 0) return;
    for (const { file, path } of entries) queue.push(makeItem(file, path));
    pump();
  };

  const pump = () => {
    const limit = opts.concurrency || 3;
    while (running < limit && queue.length > 0) {
      const item = queue.shift();
      running++;
      item.start().finally(() => {
        running--;
        if (running === 0 && queue.length === 0 && opts.onFinished) opts.onFinished();
        pump();
      });
    }
  };

  const makeItem = (file, path) => {
    const name = path || file.name;
    const bar = el('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload progress of ${name}` });
    const stateText = el('span', { class: 'up-state' }, 'Waiting…');
    const result = el('div', { class: 'up-result' });
    const ctl = new AbortController();
    const cancel = el('button', { type: 'button', class: 'small', 'aria-label': `Cancel the upload of ${name}`, onclick: () => ctl.abort() }, 'Cancel');
    const li = el('li', { 'data-state': 'queued', 'data-name': name },
      el('div', { class: 'up-head' },
        el('span', { class: 'up-name' }, name),
        el('span', { class: 'muted' }, formatBytes(file.size)),
        cancel),
      bar, stateText, result);
    list.prepend(li);
    const fail = (msg) => {
      cancel.remove();
      li.dataset.state = 'failed';
      li.classList.add('failed');
      stateText.textContent = msg;
      stateText.setAttribute('role', 'alert');
      bar.hidden = true;
    };
    ctl.signal.addEventListener('abort', () => { if (li.dataset.state === 'queued') fail('Canceled.'); });
    return {
      start: async () => {
        if (ctl.signal.aborted) return;
        const refused = opts.precheck ? opts.precheck(file) : '';
        if (refused) { fail(refused); return; }
        li.dataset.state = 'uploading';
        stateText.textContent = 'Uploading… 0%';
        try {
          // A file from a folder keeps its relative path as its name, so
          // the pin is listed as "site/a.txt" and not as the folder "site".
          const res = await opts.client().upload({ file, path: name }, {
            name: path || undefined,
            signal: ctl.signal,
            onProgress: ({ loaded, total }) => {
              const t = total || 1;
              bar.max = t;
              bar.value = Math.min(loaded, t);
              li.dataset.loaded = String(loaded);
              stateText.textContent = `Uploading… ${Math.floor((100 * loaded) / t)}% (${formatBytes(loaded)} of ${formatBytes(t)})`;
            },
          });
          cancel.remove();
          bar.value = bar.max;
          li.dataset.state = 'done';
          li.dataset.cid = res.cid;
          // Files over the library's resumableThreshold (64 MiB) went over
          // tus: chunk by chunk, resumed after a dropped connection.
          li.dataset.transport = res.resumable ? 'tus' : 'multipart';
          li.classList.add('done');
          stateText.textContent = res.resumable ? 'Pinned (resumable upload)' : 'Pinned';
          // A folder's file is stored as the folder's directory; link to
          // the file inside it.
          const inner = name.includes('/') ? name.split('/').slice(1).join('/') : '';
          const href = gatewayPath(res.cid, inner);
          result.replaceChildren(
            el('code', { class: 'cid' }, res.cid),
            copyButton(res.cid, 'Copy CID', 'CID copied'),
            el('a', { href, target: '_blank', rel: 'noopener' }, 'Open in gateway'));
        } catch (err) {
          fail(err && err.name === 'AbortError' ? 'Canceled: nothing was stored.' : explain(err));
        }
      },
    };
  };

  filesInput.addEventListener('change', () => {
    add([...filesInput.files].map((file) => ({ file, path: '' })));
    filesInput.value = '';
  });
  folderInput.addEventListener('change', () => {
    add([...folderInput.files].map((file) => ({ file, path: file.webkitRelativePath || '' })));
    folderInput.value = '';
  });

  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (enabled) zone.classList.add('over');
    e.dataTransfer.dropEffect = enabled ? 'copy' : 'none';
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', async (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (!enabled) return;
    add(await droppedFiles(e.dataTransfer));
  });

  return {
    setEnabled(on) {
      enabled = on;
      filesInput.disabled = !on;
      folderInput.disabled = !on;
      zone.classList.toggle('disabled', !on);
    },
    zone,
    list,
  };
}

// droppedFiles walks dropped folders (webkitGetAsEntry) so a dropped folder
// uploads its files with their relative paths, as the folder picker does.
async function droppedFiles(dt) {
  const items = [...(dt.items || [])].filter((i) => i.kind === 'file');
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (entries.length === 0 || entries.some((e) => !e)) {
    return [...dt.files].map((file) => ({ file, path: '' }));
  }
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: prefix ? `${prefix}/${file.name}` : '' });
      return;
    }
    const reader = entry.createReader();
    const dir = prefix ? `${prefix}/${entry.name}` : entry.name;
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, dir);
    }
  };
  for (const entry of entries) await walk(entry, '');
  return out;
}
