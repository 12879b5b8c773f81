// npm @pinata/sdk (the legacy API) against ninja. Its base URL is
// https://api.pinata.cloud, fixed; e2e/pinata_test.go runs this with
// HTTPS_PROXY=NINJA_URL, so axios hands every request to ninja unchanged.
// NINJA_KEY is an API key and NINJA_KEY_ID its id (the legacy key pair),
// INPUTS the input files, LOST_CID a CID nobody serves. Prints
// {"cids": {input: cid}} last.
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import pinataSDK from "@pinata/sdk";

const { NINJA_URL: base, NINJA_KEY: key, NINJA_KEY_ID: keyID, INPUTS: dir, LOST_CID: lostCID } = process.env;
const withJWT = new pinataSDK({ pinataJWTKey: key });
const withPair = new pinataSDK(keyID, key); // pinata_api_key, pinata_secret_api_key
const out = { cids: {} };
// The gateway is read directly (Node's fetch does not use HTTPS_PROXY).
const gateway = async (cid) => Buffer.from(await (await fetch(`${base}/ipfs/${cid}`)).arrayBuffer());
// The SDK rejects with the error body's error member: ninja's
// {reason, details}, the shape Pinata's legacy API answers with.
const reason = (want) => (err) => {
  assert.equal(err.reason, want, JSON.stringify(err));
  return true;
};

assert.deepEqual(await withJWT.testAuthentication(), { authenticated: true });
assert.deepEqual(await withPair.testAuthentication(), { authenticated: true });
await assert.rejects(new pinataSDK(keyID, "bws_notarealkeyatall").testAuthentication(), reason("UNAUTHORIZED"));

// pinFileToIPFS: a stream, pinataMetadata after the file.
const bin = await readFile(`${dir}/big.bin`);
const file = await withPair.pinFileToIPFS(createReadStream(`${dir}/big.bin`), {
  pinataMetadata: { name: "legacy.bin", keyvalues: { src: "legacy", n: 1 } },
  pinataOptions: { cidVersion: 1 },
});
assert.ok(file.PinSize >= bin.length && file.Timestamp, JSON.stringify(file));
assert.deepEqual(await gateway(file.IpfsHash), bin);
out.cids["big.bin"] = file.IpfsHash;
// pinFromFS: a folder, each file named by its path under the folder.
const folder = await withJWT.pinFromFS(`${dir}/folder`, { pinataMetadata: { name: "folder" } });
assert.deepEqual(await gateway(`${folder.IpfsHash}/a.txt`), await readFile(`${dir}/folder/a.txt`));
out.cids["folder"] = folder.IpfsHash;
// cidVersion 0 comes after the file, where ninja can no longer honour it.
await assert.rejects(
  withJWT.pinFileToIPFS(createReadStream(`${dir}/small.txt`), { pinataMetadata: { name: "v0" }, pinataOptions: { cidVersion: 0 } }),
  (e) => reason("BAD_REQUEST")(e) && /pinataOptions/.test(e.details),
);

// pinJSONToIPFS, with options ({pinataContent, …}) and without (the body).
const jsonText = (await readFile(`${dir}/doc.json`)).toString();
const json = await withJWT.pinJSONToIPFS(JSON.parse(jsonText), { pinataMetadata: { name: "legacy.json" } });
const bare = await withJWT.pinJSONToIPFS(JSON.parse(jsonText));
assert.equal(bare.IpfsHash, json.IpfsHash);
assert.equal((await gateway(json.IpfsHash)).toString(), jsonText);
out.cids["doc.json"] = json.IpfsHash;

// pinByHash: a CID here already is pinned at once; one nobody has waits
// in pinJobs.
const byHash = await withJWT.pinByHash(file.IpfsHash, { pinataMetadata: { name: "by hash" } });
assert.deepEqual([byHash.ipfsHash, byHash.status, byHash.name], [file.IpfsHash, "pinned", "by hash"]);
const lost = await withJWT.pinByHash(lostCID);
assert.equal(lost.status, "prechecking");
const jobs = await withJWT.pinJobs({ sort: "ASC" });
assert.deepEqual(jobs.rows.map((r) => r.ipfs_pin_hash), [lostCID]);
assert.equal(jobs.count, 1);

// pinList with its filters.
const kv = { src: { value: "legacy", op: "eq" } };
let list = await withJWT.pinList({ metadata: { name: "legacy", keyvalues: kv } });
assert.deepEqual(list.rows.map((r) => r.ipfs_pin_hash), [file.IpfsHash]);
assert.equal(list.count, 1);
assert.deepEqual(list.rows[0].metadata, { name: "legacy.bin", keyvalues: { src: "legacy", n: "1" } });
list = await withJWT.pinList({ status: "pinned", pageLimit: 2 });
assert.equal(list.count, 5, "the file, the folder, the JSON twice, the pin by hash");
assert.equal(list.rows.length, 2);
list = await withJWT.pinList({ hashContains: json.IpfsHash });
assert.equal(list.count, 2);

// hashMetadata: renames, keyvalues merged in.
assert.equal(await withJWT.hashMetadata(file.IpfsHash, { name: "legacy renamed", keyvalues: { stage: "updated" } }), "OK");
list = await withJWT.pinList({ metadata: { name: "legacy renamed" } });
assert.equal(list.count, 2, "both pins of the CID: the upload and the pin by hash");
assert.deepEqual(list.rows[1].metadata.keyvalues, { src: "legacy", n: "1", stage: "updated" });

// userPinnedDataTotal, then unpin.
const before = await withJWT.userPinnedDataTotal();
assert.equal(before.pin_count, 5);
assert.equal(await withJWT.unpin(json.IpfsHash), "OK");
assert.equal((await withJWT.pinList({ hashContains: json.IpfsHash })).count, 0);
await assert.rejects(withJWT.unpin(json.IpfsHash), reason("NOT_FOUND"));
const after = await withPair.userPinnedDataTotal();
assert.equal(after.pin_count, 3);
assert.equal(after.pin_size_total, before.pin_size_total - Buffer.byteLength(jsonText));
out.unpinnedCID = json.IpfsHash;

console.log(JSON.stringify(out));
