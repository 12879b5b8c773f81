// verified-fetch.mjs GATEWAY_URL CID: reads ipfs://CID with
// @helia/verified-fetch, ninja as its only gateway and otherwise default
// options (so an http:// or a private-address gateway would be refused),
// verifying every block's hash, and prints {"bytes": n, "sha256": hex}.
// No delegated router is configured: the test machine has no internet, and
// the gateway is the only place the blocks are.
import { createHash } from 'node:crypto'
import { createVerifiedFetch } from '@helia/verified-fetch'

const [gateway, cid] = process.argv.slice(2)
const verifiedFetch = await createVerifiedFetch({ gateways: [gateway], routers: [] })
try {
  const res = await verifiedFetch(`ipfs://${cid}`, { signal: AbortSignal.timeout(60_000) })
  if (!res.ok) {
    throw new Error(`verified-fetch: ${res.status} ${await res.text()}`)
  }
  const bytes = new Uint8Array(await res.arrayBuffer())
  console.log(JSON.stringify({
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex')
  }))
} finally {
  await verifiedFetch.stop()
}
