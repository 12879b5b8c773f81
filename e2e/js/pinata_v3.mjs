// npm pinata (v3) against ninja, configured as the README says. Run by
// e2e/pinata_test.go with NINJA_URL, NINJA_KEY (an API key), INPUTS (the
// input files) and LOST_CID (a CID nobody serves). Asserts what moved;
// prints {"cids": {input: cid}} last, for the Go test to compare with
// Kubo's and read back.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { PinataSDK } from "pinata";

const { NINJA_URL: base, NINJA_KEY: key, INPUTS: dir, LOST_CID: lostCID } = process.env;
const config = { endpointUrl: `${base}/v3`, uploadUrl: `${base}/v3`, legacyUploadUrl: `${base}/pinning/pinFileToIPFS` };
const pinata = new PinataSDK({ pinataJwt: key, ...config });
const out = { cids: {} };
const read = (name) => readFile(`${dir}/${name}`);
const gateway = async (path) => {
  const res = await fetch(`${base}/ipfs/${path}`);
  assert.equal(res.status, 200, `gateway ${path}`);
  return Buffer.from(await res.arrayBuffer());
};
// status checks a refusal's HTTP status (assert.rejects takes the SDK's
// builders, which are thenables, through an async function).
const status = (code) => (err) => {
  assert.equal(err.statusCode, code, err.message);
  return true;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const idsOf = (files) => files.map((f) => f.id);

// testAuthentication
assert.match((await pinata.testAuthentication()).message, /Congratulations/);

// upload.public.file with a name and keyvalues: a DAG of several blocks.
const bin = await read("big.bin");
const big = await pinata.upload.public
  .file(new File([bin], "big.bin", { type: "application/octet-stream" }))
  .name("big file")
  .keyvalues({ env: "e2e", kind: "binary" });
assert.equal(big.name, "big file");
assert.deepEqual(big.keyvalues, { env: "e2e", kind: "binary" });
assert.equal(big.size, bin.length);
assert.equal(big.network, "public");
assert.deepEqual(await gateway(big.cid), bin);
out.cids["big.bin"] = big.cid;

// .json: the SDK uploads JSON.stringify of the object as data.json.
const jsonText = (await read("doc.json")).toString();
const doc = await pinata.upload.public.json(JSON.parse(jsonText)).name("doc");
assert.equal(doc.mime_type, "application/json");
assert.equal((await gateway(doc.cid)).toString(), jsonText);
out.cids["doc.json"] = doc.cid;

// .base64
const small = await read("small.txt");
const b64 = await pinata.upload.public.base64(small.toString("base64")).name("small.txt");
assert.deepEqual(await gateway(b64.cid), small);
out.cids["small.txt"] = b64.cid;

// .fileArray: a folder (the SDK posts it to legacyUploadUrl).
const a = await read("folder/a.txt");
const b = await read("folder/b.txt");
const folder = await pinata.upload.public.fileArray([new File([a], "a.txt"), new File([b], "b.txt")]).name("folder");
assert.equal(folder.number_of_files, 2);
assert.deepEqual(await gateway(`${folder.cid}/a.txt`), a);
assert.deepEqual(await gateway(`${folder.cid}/b.txt`), b);
out.cids["folder"] = folder.cid;

// .cid: a CID stored here already is pinned at once; one nobody has queues.
const again = await pinata.upload.public.cid(b64.cid).name("small again");
assert.equal(again.status, "pinned");
const lost = await pinata.upload.public.cid(lostCID).name("lost");
assert.equal(lost.status, "prechecking");

// files.public.list: filters and paging.
const everything = await pinata.files.public.list().all();
assert.equal(everything.length, 5, "big, doc, small, folder and the pin by CID");
const page1 = await pinata.files.public.list().limit(2);
const page2 = await pinata.files.public.list().limit(2).pageToken(page1.next_page_token);
const page3 = await pinata.files.public.list().limit(2).pageToken(page2.next_page_token);
assert.equal(page3.next_page_token, "");
assert.deepEqual([page1, page2, page3].flatMap((p) => idsOf(p.files)), idsOf(everything), "pages are the whole list, in order");
const iterated = [];
for await (const f of pinata.files.public.list().limit(2)) iterated.push(f.id);
assert.deepEqual(iterated, idsOf(everything));
assert.deepEqual(idsOf((await pinata.files.public.list().name("BIG")).files), [big.id]);
assert.deepEqual(idsOf((await pinata.files.public.list().keyvalues({ kind: "binary" })).files), [big.id]);
assert.deepEqual(idsOf((await pinata.files.public.list().cid(doc.cid)).files), [doc.id]);
assert.deepEqual(idsOf((await pinata.files.public.list().mimeType("application/json")).files), [doc.id]);
const asc = await pinata.files.public.list().order("ASC").limit(1);
assert.deepEqual(idsOf(asc.files), [big.id]);

// .get and .update (keyvalues are merged in).
assert.equal((await pinata.files.public.get(big.id)).cid, big.cid);
const updated = await pinata.files.public.update({ id: big.id, name: "renamed", keyvalues: { stage: "updated" } });
assert.equal(updated.name, "renamed");
assert.deepEqual(updated.keyvalues, { env: "e2e", kind: "binary", stage: "updated" });
assert.deepEqual(idsOf((await pinata.files.public.list().keyvalues({ stage: "updated" })).files), [big.id]);

// .queue and deletePinRequest.
const queued = await pinata.files.public.queue();
assert.deepEqual(queued.jobs.map((j) => j.id), [lost.id]);
assert.match(queued.jobs[0].status, /^(prechecking|retrieving)$/);
assert.equal((await pinata.files.public.queue().cid(lostCID)).jobs[0].cid, lostCID);
assert.equal(await pinata.files.public.deletePinRequest(lost.id), "OK");
assert.deepEqual((await pinata.files.public.queue()).jobs, []);

// createSignedURL, then an upload with only that URL, as a browser does.
const browser = new PinataSDK({ ...config });
const signed = await pinata.upload.public.createSignedURL({
  expires: 60, name: "signed.txt", keyvalues: { via: "signed url" }, maxFileSize: 1024, mimeTypes: ["text/plain"],
});
const fromBrowser = await browser.upload.public
  .file(new File([await read("signed.txt")], "IMG_0001.txt", { type: "text/plain" }))
  .url(signed);
assert.equal(fromBrowser.name, "signed.txt", "the signed name applies");
assert.deepEqual(fromBrowser.keyvalues, { via: "signed url" });
out.cids["signed.txt"] = fromBrowser.cid;
out.signedFileId = fromBrowser.id;
// Refused: over max_file_size, a type the bytes are not, once expired.
await assert.rejects(
  async () => browser.upload.public.file(new File([Buffer.alloc(2048, 97)], "big.txt", { type: "text/plain" })).url(signed),
  (e) => status(413)(e) && /SIZE_EXCEEDED/.test(e.message),
);
await assert.rejects(
  async () => browser.upload.public.file(new File([Buffer.from("\x89PNG\r\n\x1a\n not text")], "x.txt", { type: "text/plain" })).url(signed),
  (e) => status(415)(e) && /MIME_NOT_ALLOWED/.test(e.message),
);
const brief = await pinata.upload.public.createSignedURL({ expires: 2 });
await sleep(3000);
await assert.rejects(
  async () => browser.upload.public.file(new File(["too late"], "late.txt", { type: "text/plain" })).url(brief),
  (e) => status(401)(e) && /TOKEN_EXPIRED/.test(e.message),
);

// Groups: create, add files, list by group, rename, remove, delete.
const group = await pinata.groups.public.create({ name: "e2e group" });
const added = await pinata.groups.public.addFiles({ groupId: group.id, files: [big.id, doc.id] });
assert.deepEqual(added.map((r) => r.status), ["OK", "OK"]);
assert.deepEqual(idsOf((await pinata.files.public.list().group(group.id)).files).sort(), [big.id, doc.id].sort());
assert.equal((await pinata.files.public.get(doc.id)).group_id, group.id);
const grouped = await pinata.upload.public.file(new File(["in a group"], "g.txt", { type: "text/plain" })).group(group.id);
assert.equal(grouped.group_id, group.id);
assert.equal((await pinata.groups.public.update({ groupId: group.id, name: "renamed group" })).name, "renamed group");
assert.equal((await pinata.groups.public.get({ groupId: group.id })).name, "renamed group");
assert.deepEqual((await pinata.groups.public.list().name("renamed")).groups.map((g) => g.id), [group.id]);
await pinata.groups.public.removeFiles({ groupId: group.id, files: [doc.id] });
assert.deepEqual(idsOf((await pinata.files.public.list().group(group.id)).files).sort(), [big.id, grouped.id].sort());
assert.ok(!idsOf((await pinata.files.public.list().noGroup(true)).files).includes(big.id));
assert.equal(await pinata.groups.public.delete({ groupId: group.id }), "OK");
await assert.rejects(pinata.groups.public.get({ groupId: group.id }), status(404));
assert.equal((await pinata.files.public.get(big.id)).group_id, null, "a deleted group leaves its files");

// Keys: a scoped, counted key; listed; revoked.
const made = await pinata.keys.create({ keyName: "e2e reader", permissions: { endpoints: { data: { pinList: true } } }, maxUses: 2 });
const reader = new PinataSDK({ pinataJwt: made.JWT, ...config });
assert.equal((await reader.files.public.list()).files.length, 7, "every pinned file of the account");
await assert.rejects(async () => reader.upload.public.file(new File(["no"], "no.txt")), status(403));
const listed = await pinata.keys.list().name("reader");
assert.deepEqual(listed.map((k) => [k.key, k.max_uses, k.uses]), [[made.pinata_api_key, 2, 1]]);
const revoked = await pinata.keys.revoke([made.pinata_api_key]);
assert.equal(revoked[0].status, "Revoked");
await assert.rejects(async () => reader.files.public.list(), status(401));

// files.public.delete
const deleted = await pinata.files.public.delete([doc.id]);
assert.deepEqual(deleted, [{ id: doc.id, status: "OK" }]);
await assert.rejects(pinata.files.public.get(doc.id), status(404));
out.deletedCID = doc.cid;

// A file over 90 MiB: the SDK switches to tus (POST {uploadUrl}/files with
// Upload-Length, PATCHes of 50 MiB + 1 to the Location, "upload-cid" read
// from the last 204), then reads the file's record by CID.
const hugeBin = await read("huge.bin");
const huge = await pinata.upload.public
  .file(new File([hugeBin], "huge.bin", { type: "application/octet-stream" }))
  .keyvalues({ via: "tus" });
assert.equal(huge.size, hugeBin.length);
assert.equal(huge.name, "huge.bin");
assert.deepEqual(huge.keyvalues, { via: "tus" });
out.cids["huge.bin"] = huge.cid;

console.log(JSON.stringify(out));
