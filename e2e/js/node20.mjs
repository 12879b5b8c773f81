// node20.mjs is loaded with `node --import ./node20.mjs` before a script:
// the helia and libp2p packages the scripts use now call
// Promise.withResolvers (ES2024, Node 22), and the test machines run
// Node 20. This is the specification's behaviour, defined only where
// missing; nothing else about the clients changes.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve, reject
      const promise = new this((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}
