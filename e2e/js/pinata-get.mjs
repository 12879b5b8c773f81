// pinata-get.mjs GATEWAY_HOST CID: reads CID with the pinata SDK's
// gateways.public.get, its gateway pointed at ninja (the SDK forces
// https:// onto it), and prints {"bytes": n, "sha256": hex} of what it got.
import { createHash } from 'node:crypto'
import { PinataSDK } from 'pinata'

const [gateway, cid] = process.argv.slice(2)
const pinata = new PinataSDK({ pinataJwt: 'unused-for-public-gateway-reads', pinataGateway: gateway })
const res = await pinata.gateways.public.get(cid)
let bytes
if (res.data instanceof Blob) {
  bytes = new Uint8Array(await res.data.arrayBuffer())
} else if (typeof res.data === 'string') {
  bytes = new TextEncoder().encode(res.data)
} else {
  bytes = new TextEncoder().encode(JSON.stringify(res.data))
}
console.log(JSON.stringify({
  bytes: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  contentType: res.contentType
}))
