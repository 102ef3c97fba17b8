/**
 * Smallest reproduction of an interop bug in @chainsafe/libp2p-yamux 8.0.1:
 * the payload of a Data frame that also carries FIN is dropped (the flag is
 * applied before the data is pushed, so the data finds the stream closed).
 * Our core therefore never sends FIN with a payload.
 *
 * Run: node --require ./scripts/node20-polyfill.cjs dist/test/interop/repro-chainsafe-data-fin.js
 * Prints what a chainsafe listener received for two ways of sending "hello" + FIN.
 */
/* eslint-disable no-console -- a reproduction script reports to the terminal */
import { yamux } from '@chainsafe/libp2p-yamux'
import { Flag, FrameType, encodeHeader } from '../../src/core/index.ts'
import { directPair } from '../fixtures/direct-pair.ts'
import type { Stream } from '@libp2p/interface'

async function receivedBy (frames: Uint8Array[]): Promise<string> {
  const [raw, theirs] = directPair()
  const listener = yamux({ enableKeepAlive: false })().createStreamMuxer(theirs)
  const got = new Promise<string>((resolve) => {
    listener.addEventListener('stream', (evt: CustomEvent<Stream>) => {
      void (async () => {
        const chunks: string[] = []
        for await (const chunk of evt.detail) { chunks.push(new TextDecoder().decode(chunk.subarray())) }
        resolve(JSON.stringify(chunks.join('')))
      })()
    })
  })
  for (const frame of frames) { raw.send(frame) }
  return Promise.race([got, new Promise<string>(resolve => setTimeout(() => { resolve('(nothing, stream never ended)') }, 500))])
}

const hello = new TextEncoder().encode('hello')
const body = (flags: number): Uint8Array => {
  const out = new Uint8Array(12 + hello.byteLength)
  out.set(encodeHeader({ type: FrameType.Data, flags, streamId: 1, length: hello.byteLength }))
  out.set(hello, 12)
  return out
}

console.log('Data|SYN "hello", then WindowUpdate|FIN  ->', await receivedBy([
  body(Flag.SYN),
  encodeHeader({ type: FrameType.WindowUpdate, flags: Flag.FIN, streamId: 1, length: 0 })
]))
console.log('Data|SYN|FIN "hello" (one frame)          ->', await receivedBy([body(Flag.SYN | Flag.FIN)]))
process.exit(0)
