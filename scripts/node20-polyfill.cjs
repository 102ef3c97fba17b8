// @ts-nocheck
// Promise.withResolvers arrived in Node 22; libp2p v3 calls it at run time.
// Loaded (with --require) by the test runner (.aegir.js) and by `npm start`; src/ never needs it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
