// @ts-nocheck
// Promise.withResolvers arrived in Node 22; libp2p v3 calls it at run time.
// Loaded by .aegir.js for the test process only.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
