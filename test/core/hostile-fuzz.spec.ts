/**
 * Hostile fuzzing of one core session: random frame sequences (any type,
 * flags, stream id, length, with or without the announced payload) and raw
 * garbage, cut into random chunks. Whatever arrives, the session must never
 * throw out of receive(), must either stay up or end with a typed yamux
 * error, and once ended must hold no stream and no timer.
 * FUZZ_RUNS=<n> for a long run (npm run fuzz).
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { FrameType, HEADER_LENGTH, encodeHeaderInto } from '../../src/core/index.ts'
import { RawHarness } from '../fixtures/raw-peer.ts'
import { concat } from '../fixtures/session-pair.ts'
import { numberSetting } from '../fixtures/settings.ts'

const KNOWN_ERRORS = new Set([
  'InvalidVersionError', 'InvalidMsgTypeError', 'UnexpectedFlagError', 'DuplicateStreamError',
  'ReceiveWindowExceededError', 'WindowOverflowError', 'RemoteGoAwayError', 'ConnectionWriteTimeoutError'
])

const frameArb = fc.record({
  type: fc.oneof(fc.constantFrom(FrameType.Data, FrameType.WindowUpdate, FrameType.Ping, FrameType.GoAway), fc.integer({ min: 0, max: 255 })),
  version: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) }),
  flags: fc.oneof(fc.constantFrom(0, 1, 2, 4, 8, 5, 9, 3), fc.integer({ min: 0, max: 0xFFFF })),
  streamId: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(0xFFFF_FFFF), fc.integer({ min: 0, max: 0xFFFF_FFFF })),
  length: fc.oneof(fc.integer({ min: 0, max: 2048 }), fc.integer({ min: 0, max: 300 * 1024 }), fc.constant(0xFFFF_FFFF)),
  /** Bytes of payload actually sent (capped), for Data frames. */
  sendPayload: fc.boolean()
})

const itemArb = fc.oneof(
  { weight: 10, arbitrary: frameArb.map(f => ({ kind: 'frame' as const, ...f })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map(bytes => ({ kind: 'garbage' as const, bytes })) }
)

type Item = typeof itemArb extends fc.Arbitrary<infer T> ? T : never

function encode (items: Item[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const item of items) {
    if (item.kind === 'garbage') {
      parts.push(item.bytes)
      continue
    }
    const header = new Uint8Array(HEADER_LENGTH)
    encodeHeaderInto(header, 0, item.type, item.flags, item.streamId, item.length)
    header[0] = item.version
    parts.push(header)
    if (item.type === FrameType.Data && item.sendPayload) { parts.push(new Uint8Array(Math.min(item.length, 64 * 1024)).fill(7)) }
  }
  return concat(parts)
}

const runs = numberSetting('FUZZ_RUNS') ?? 300

describe('core: hostile fuzzing (random frames, garbage, random chunking)', function () {
  this.timeout(runs > 1000 ? 0 : 60_000)

  for (const client of [false, true]) {
    it(`never throws, ends only with a typed error, and releases everything (${client ? 'client' : 'server'} side)`, () => {
      fc.assert(fc.property(
        fc.array(itemArb, { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (items, cuts, blocked) => {
          const h = new RawHarness({ client, config: { maxInboundStreams: 4, acceptBacklog: 3 } })
          h.peer.accept = !blocked
          const bytes = encode(items)
          for (let at = 0, i = 0; at < bytes.byteLength; i++) {
            const n = cuts[i % cuts.length]
            // receive() must never throw, whatever it is fed
            h.session.receive(bytes.subarray(at, at + n))
            at += n
            h.env.runTasks()
          }
          h.advance(20_000)
          if (h.session.isClosed) {
            expect(h.peer.closed).to.equal(true)
            if (h.peer.closeError !== undefined) { expect(KNOWN_ERRORS.has(h.peer.closeError.name), h.peer.closeError.name).to.equal(true) }
            expect(h.session.streamCount).to.equal(0)
            expect(h.env.pendingTimers).to.equal(0)
          } else {
            expect(h.session.streamCount).to.be.at.most(4)
            h.session.close()
            expect(h.env.pendingTimers).to.equal(0)
          }
        }
      ), { numRuns: runs })
    })
  }
})
