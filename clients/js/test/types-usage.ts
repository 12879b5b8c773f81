import { Ninja, NinjaError, type UploadResult } from '../ninja.js';
import { useNinjaUpload as useReact } from '../react.js';
import { useNinjaUpload as useVue } from '../vue.js';

async function main(file: File) {
  const n = new Ninja({ url: 'https://x', getToken: async ({ reason }) => ({ token: 't' + reason, expiresAt: Date.now() + 1000 }) });
  const r: UploadResult = await n.upload(file, { onProgress: (p) => console.log(p.loaded / p.total), metadata: { a: 1 } });
  const d = await n.upload([{ file, path: 'site/a.txt' }]);
  const big = await n.upload(file, { resumableThreshold: 0, chunkSize: 1 << 20, retryDelays: [0, 500], storage: null });
  const resumed: boolean | undefined = big.resumable;
  const st = await n.status(r.cid);
  const named = await n.publish('blog', r.cid, { lifetime: '48h' });
  named.ipnsName.toUpperCase();
  const pg = await n.request<{ tokenId: string }>('GET', '/signed-tokens', { page: true });
  pg.items[0].tokenId.toUpperCase();
  try { await n.pin('bafy', { origins: ['/ip4/1.2.3.4/tcp/1'] }); } catch (e) { if (e instanceof NinjaError) console.log(e.reason, e.status, e.details); }
  const h = useReact({ url: '', token: 'x' });
  const p: number = h.progress;
  const v = useVue(n);
  const q: number = v.progress.value;
  console.log(d.cid, st.status, p, q, v.result.value?.cid, h.error?.message);
}
main;
