// @ts-nocheck
// Promise.withResolvers arrived in Node 22; libp2p v3 (and libp2p 2's it-queue) call it at run
// time. Published as `libp2p-yamux/polyfill` for Node 20 users:
//   node --import libp2p-yamux/polyfill app.js   (or --require libp2p-yamux/polyfill)
// Also loaded by the test runner (.aegir.js) and `npm start`. src/ never needs it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
