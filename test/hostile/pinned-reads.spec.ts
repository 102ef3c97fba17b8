/**
 * A peer puts one small Data frame for a stream nobody reads into each 64 KiB
 * it sends, the rest of which is a frame for streams the application reads.
 * Over a real socket every small piece sits in a 64 KiB read that Node hands
 * over as a Buffer; the memory held must follow the unread bytes (~200 kB),
 * not the reads their pieces would pin as views (~13 MB). Buffer's own
 * slice() returns a view, so the copy must not rely on it.
 */
import { expect } from 'aegir/chai'
import { Flag, FrameType, HEADER_LENGTH, encodeHeaderInto } from '../../src/core/index.ts'
import { rawPeer } from '../fixtures/node-peers.ts'
import { until } from '../libp2p/helpers.ts'
import { gc } from '../soak/workload.ts'
import type { YamuxDuplex } from '../../src/node/index.ts'

const CHUNK = 64 * 1024
const SMALL = 1024
const CHUNKS = 200
/** Streams that take the rest of each chunk, in turn, each within its 256 KiB window. */
const READ_STREAMS = 50
const UNREAD = 1
/** The most array-buffer memory the unread stream may hold for its 200 kB (13 MB as views; 206 kB measured). */
const LIMIT = 2 * 1024 * 1024

function header (out: Uint8Array, at: number, type: FrameType, flags: number, id: number, length: number): number {
  encodeHeaderInto(out, at, type, flags, id, length)
  return at + HEADER_LENGTH
}

/** SYNs, then CHUNKS chunks of [small frame for UNREAD, large frame for a read stream], then a Ping. */
function traffic (): Uint8Array {
  const big = CHUNK - 2 * HEADER_LENGTH - SMALL
  const out = new Uint8Array(HEADER_LENGTH * (READ_STREAMS + 2) + CHUNKS * CHUNK)
  let at = header(out, 0, FrameType.WindowUpdate, Flag.SYN, UNREAD, 0)
  for (let i = 0; i < READ_STREAMS; i++) { at = header(out, at, FrameType.WindowUpdate, Flag.SYN, 3 + 2 * i, 0) }
  for (let c = 0; c < CHUNKS; c++) {
    at = header(out, at, FrameType.Data, 0, UNREAD, SMALL)
    out.fill(7, at, at + SMALL)
    at += SMALL
    at = header(out, at, FrameType.Data, 0, 3 + 2 * (c % READ_STREAMS), big)
    at += big
  }
  header(out, at, FrameType.Ping, Flag.SYN, 0, 42)
  return out
}

/** Array-buffer memory after full collections (backing stores are freed by a sweeper after the GC). */
async function arrayBuffers (): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return process.memoryUsage().arrayBuffers
}

describe('small frames for an unread stream, each in a large read', function () {
  this.timeout(60_000)
  let cleanup = (): void => {}
  afterEach(() => { cleanup() })

  it('Node.js API over TCP: the unread stream holds its bytes, not the 64 KiB reads they came in', async () => {
    const peer = await rawPeer()
    const session = peer.session
    cleanup = () => { peer.done() }

    let unread: YamuxDuplex | undefined
    const counted = { bytes: 0 }
    const count = (chunk: Buffer): void => { counted.bytes += chunk.byteLength }
    void (async () => {
      for await (const stream of session) {
        stream.on('error', () => {})
        if (stream.id === UNREAD) { unread = stream; continue }
        stream.on('data', count)
      }
    })()

    const bytes = traffic()
    const before = await arrayBuffers()
    peer.socket.write(bytes)
    await peer.waitFor(f => f.type === FrameType.Ping && (f.flags & Flag.ACK) !== 0)
    await until(() => counted.bytes === CHUNKS * (CHUNK - 2 * HEADER_LENGTH - SMALL), 20_000)
    const held = await arrayBuffers() - before

    expect(unread?.readableLength).to.equal(CHUNKS * SMALL)
    expect(held, `array-buffer memory held for ${CHUNKS * SMALL} unread bytes`).to.be.lessThan(LIMIT)
  })
})
