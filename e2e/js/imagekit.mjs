// ImageKit's client upload against ninja, as its docs show it: the backend
// signs with npm jsonwebtoken (stringified values, no jti, header kid),
// the browser's form appends file, then fileName, then token, and posts
// it to ninja's POST /upload. Run by e2e/pinata_test.go with NINJA_URL,
// NINJA_KID and NINJA_SIGNING_SECRET (an upload-signing key) and INPUTS.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import jwt from "jsonwebtoken";

const { NINJA_URL: base, NINJA_KID: kid, NINJA_SIGNING_SECRET: secret, INPUTS: dir } = process.env;

// The backend: ImageKit's own code, with ninja's signing key.
function sign(uploadPayload) {
  return jwt.sign(uploadPayload, secret, { expiresIn: 400, header: { alg: "HS256", typ: "JWT", kid } });
}

// The browser: file, fileName, token, in that order.
async function upload(bytes, fileName, token) {
  const form = new FormData();
  form.append("file", new Blob([bytes]), "blob");
  form.append("fileName", fileName);
  form.append("token", token);
  const res = await fetch(`${base}/upload`, { method: "POST", body: form });
  return { status: res.status, body: await res.json() };
}

const bytes = await readFile(`${dir}/dress.jpg`);
const token = sign({ fileName: "dress.jpg", useUniqueFileName: "false", tags: "summer,dress" });
const res = await upload(bytes, "dress.jpg", token);
assert.equal(res.status, 200, JSON.stringify(res.body));
assert.equal(res.body.name, "dress.jpg");
const back = Buffer.from(await (await fetch(`${base}/ipfs/${res.body.cid}`)).arrayBuffer());
assert.deepEqual(back, bytes);

// The same token again: single use.
const replay = await upload(bytes, "dress.jpg", token);
assert.deepEqual([replay.status, replay.body.error.reason], [409, "TOKEN_REPLAYED"]);
// A fileName the payload does not sign.
const other = await upload(bytes, "other.jpg", sign({ fileName: "dress.jpg" }));
assert.deepEqual([other.status, other.body.error.reason], [422, "PARAM_MISMATCH"]);

console.log(JSON.stringify({ cids: { "dress.jpg": res.body.cid } }));
