// A real ninja for the tests: the one named by NINJA_URL and NINJA_ADMIN_KEY
// (make e2e starts one in-process and sets them), else a fresh
// `ninja serve --offline` on 127.0.0.1 in a temporary data directory, run
// from NINJA_BIN or with `go run` from the repository.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export async function startNinja() {
  if (process.env.NINJA_URL && process.env.NINJA_ADMIN_KEY) {
    return { url: process.env.NINJA_URL, admin: process.env.NINJA_ADMIN_KEY, stop: async () => {} };
  }
  const data = mkdtempSync(join(tmpdir(), 'ninja-js-'));
  const args = ['serve', '--data', data, '--http', '127.0.0.1:0', '--offline', '--p2p', '/ip4/127.0.0.1/tcp/0'];
  const child = process.env.NINJA_BIN
    ? spawn(process.env.NINJA_BIN, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    : spawn('go', ['run', '.', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GOTOOLCHAIN: 'auto' } });
  const found = { url: '', admin: '' };
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ninja serve did not print "ready" within 5 minutes')), 300_000);
    child.once('exit', (code) => reject(new Error(`ninja serve exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = line.match(/^HTTP API and gateway: (\S+)/);
      if (m) found.url = m[1];
      if (/^bws_\S+$/.test(line.trim())) found.admin = line.trim();
      if (line.trim() === 'ready') { clearTimeout(timer); resolve(); }
    });
  });
  return {
    ...found,
    stop: async () => {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      rmSync(data, { recursive: true, force: true });
    },
  };
}

// admin calls the API with the admin key, for a test's set-up and checks.
export async function admin(server, method, path, body) {
  const resp = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${server.admin}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// mintToken issues a signed upload token the way an app's backend does.
export function mintToken(server, spec = {}) {
  return admin(server, 'POST', '/upload-tokens', { name: 'js test', expiresIn: '1h', ...spec });
}

// gateway returns the bytes the gateway serves for a path.
export async function gateway(server, path) {
  const resp = await fetch(`${server.url}/ipfs/${path}`);
  if (!resp.ok) throw new Error(`GET /ipfs/${path}: ${resp.status}`);
  return new Uint8Array(await resp.arrayBuffer());
}

// uploadsOf lists the account's records of a CID.
export async function uploadsOf(server, cid) {
  return (await admin(server, 'GET', `/upload/list?cid=${cid}`)).uploads;
}

export function bytes(n, seed = 1) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 251;
  return b;
}
