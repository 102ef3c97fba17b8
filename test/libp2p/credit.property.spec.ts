/**
 * Property test of the libp2p stream's credit ledger: two real muxers, a
 * sender that always has data, and a reader driven through random
 * read/pause/resume/unshift/push/closeRead/iterator-break sequences. After
 * every step the peer holds no credit for bytes the application has not
 * taken (never over-granted); at the end every byte arrives, in order, once
 * the application reads (never stalled).
 *
 * FUZZ_RUNS=<n> runs n cases instead of the quick default.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { coreRecord, muxers, pattern, patternByte, until, within } from './helpers.ts'
import type { YamuxMuxer } from '../../src/index.ts'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'

const TOTAL = 1536 * 1024
const CHUNK = 16 * 1024
/** The most bytes the model keeps to put back. */
const MAX_TAIL = 96 * 1024

type Op =
  | { kind: 'listen' | 'unlisten' | 'iterate' | 'pull' | 'break' | 'pause' | 'resume' | 'closeRead' | 'wait' }
  | { kind: 'unshift' | 'push' | 'send', bytes: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('listen' as const, 'unlisten' as const).map(kind => ({ kind })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'iterate' as const }) },
  { weight: 6, arbitrary: fc.constant({ kind: 'pull' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'break' as const }) },
  { weight: 3, arbitrary: fc.constantFrom('pause' as const, 'resume' as const).map(kind => ({ kind })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'closeRead' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'wait' as const }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('send' as const), bytes: fc.integer({ min: 1, max: 512 * 1024 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('unshift' as const, 'push' as const),
      bytes: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 101, max: MAX_TAIL }))
    })
  }
)

async function quiesce (): Promise<void> {
  // the pair delivers in microtasks; put-back dispatch waits one macrotask
  for (let i = 0; i < 3; i++) { await new Promise(resolve => setTimeout(resolve, 0)) }
}

/** The application's side: what it has taken, where it is in the stream, how it reads. */
class App {
  /** Stream position of the next byte the application expects. */
  pos = 0
  /** Distinct bytes taken (the furthest position reached). */
  fresh = 0
  /** The last bytes taken, which the application may put back. */
  tail = new Uint8ArrayList()
  mode: 'none' | 'listener' | 'iterator' = 'none'
  paused = false
  readClosed = false
  iterator?: AsyncIterator<Uint8Array | Uint8ArrayList>
  pending?: Promise<void>
  iteratorDone = false
  /** What a pull threw, if anything: a finding. */
  error?: Error
  private readonly onMessage = (evt: StreamMessageEvent): void => { this.take(evt.data) }

  constructor (readonly reader: Stream, readonly allow: (bytes: number) => void) {}

  take (chunk: Uint8Array | Uint8ArrayList): void {
    const bytes = chunk.subarray()
    for (let i = 0; i < bytes.byteLength; i++) {
      if (bytes[i] !== patternByte(this.pos + i)) {
        throw new Error(`byte ${this.pos + i} is ${bytes[i]}, expected ${patternByte(this.pos + i)}`)
      }
    }
    this.pos += bytes.byteLength
    if (this.pos > this.fresh) { this.fresh = this.pos }
    this.tail.append(bytes)
    if (this.tail.byteLength > MAX_TAIL) { this.tail.consume(this.tail.byteLength - MAX_TAIL) }
  }

  /** True once no more data can be read (closed locally or drained after the peer's FIN). */
  get ended (): boolean {
    return this.readClosed || this.reader.readStatus === 'closed' || this.reader.readStatus === 'closing'
  }

  async apply (op: Op): Promise<void> {
    const reader = this.reader
    switch (op.kind) {
      case 'send':
        this.allow(op.bytes)
        return
      case 'listen':
        if (this.mode !== 'none') { return }
        reader.addEventListener('message', this.onMessage)
        this.mode = 'listener'
        return
      case 'unlisten':
        if (this.mode !== 'listener') { return }
        reader.removeEventListener('message', this.onMessage)
        this.mode = 'none'
        return
      case 'iterate':
        if (this.mode !== 'none' || this.ended) { return }
        this.iterator = reader[Symbol.asyncIterator]()
        this.iteratorDone = false
        this.mode = 'iterator'
        return
      case 'pull':
        if (this.mode !== 'iterator' || this.pending !== undefined || this.iteratorDone) { return }
        this.pending = this.iterator?.next().then((result) => {
          if (result.done === true) { this.iteratorDone = true } else { this.take(result.value) }
          this.pending = undefined
        }, (err: Error) => {
          this.error = err
          this.pending = undefined
        })
        return
      case 'break':
        // like `break` in for await: only between chunks
        if (this.mode !== 'iterator' || this.pending !== undefined) { return }
        await this.iterator?.return?.()
        this.iterator = undefined
        this.mode = 'none'
        return
      case 'pause':
        if (this.ended || this.paused) { return }
        reader.pause()
        this.paused = true
        return
      case 'resume':
        if (this.ended || !this.paused) { return }
        reader.resume()
        this.paused = false
        return
      case 'closeRead':
        if (this.readClosed) { return }
        this.readClosed = true
        await reader.closeRead()
        return
      case 'wait':
        await new Promise(resolve => setTimeout(resolve, 5))
        return
      case 'unshift':
      case 'push': {
        // as byteStream's unwrap(): no reader attached, put back the last bytes taken
        if (this.mode !== 'none' || this.ended || this.tail.byteLength === 0) { return }
        // push appends: only the next bytes when nothing else is buffered
        if (op.kind === 'push' && reader.readBufferLength > 0) { return }
        const n = Math.min(op.bytes, this.tail.byteLength)
        const back = this.tail.sublist(this.tail.byteLength - n)
        this.tail = this.tail.sublist(0, this.tail.byteLength - n)
        this.pos -= n
        reader[op.kind](back)
        return
      }
      default:
        throw new Error(`unknown op ${JSON.stringify(op)}`)
    }
  }
}

interface Run {
  dialer: YamuxMuxer
  listener: YamuxMuxer
  stream: Stream
  reader: Stream
  /** Bytes handed to stream.send() so far. */
  sent(): number
  /** Lets the sender send `bytes` more (up to TOTAL). */
  allow(bytes: number): void
  sending: Promise<void>
}

async function start (): Promise<Run> {
  const { dialer, listener, inbound } = muxers()
  const stream = await dialer.createStream()
  let sent = 0
  let budget = 1
  let wake: (() => void) | undefined
  const allow = (bytes: number): void => { budget = Math.min(TOTAL, budget + bytes); wake?.() }
  const moreBudget = async (): Promise<void> => { await new Promise<void>(resolve => { wake = resolve }) }
  stream.send(pattern(0, 1))
  sent = 1
  await until(() => inbound.length === 1)
  const sending = (async () => {
    while (sent < TOTAL) {
      if (sent === budget) {
        await moreBudget()
        wake = undefined
        continue
      }
      const n = Math.min(CHUNK, budget - sent)
      const more = stream.send(pattern(sent, n))
      sent += n
      if (!more) {
        await new Promise<void>((resolve, reject) => {
          stream.addEventListener('drain', () => { resolve() }, { once: true })
          stream.addEventListener('close', (evt) => { reject(evt.error ?? new Error('closed')) }, { once: true })
        })
      }
    }
    await stream.close()
  })()
  sending.catch(() => {}) // awaited in finish(); a failed run aborts it
  return { dialer, listener, stream, reader: inbound[0], sent: () => sent, allow, sending }
}

/** No credit for bytes the application has not taken; window arithmetic consistent. */
function checkNotOverGranted (run: Run, app: App): void {
  if (app.error !== undefined) { throw app.error }
  const receiving = coreRecord(run.listener, run.reader)
  const sending = coreRecord(run.dialer, run.stream)
  if (receiving === undefined || sending === undefined) { throw new Error('stream gone during the run') }
  expect(receiving.recvAvailable).to.be.at.most(receiving.recvWindow)
  expect(sending.sendWindow).to.be.at.most(receiving.recvWindow)
  // after closeRead everything is discarded; after the peer's FIN no credit is due
  if (app.readClosed || receiving.readClosed) { return }
  // bytes on the receiving side not yet credited back to the peer
  const uncredited = receiving.recvWindow - receiving.creditOwed - receiving.recvAvailable - receiving.consumed
  // bytes the peer sent that the application has not taken even once
  const delivered = run.sent() - run.stream.writeBufferLength - sending.queued
  const untaken = delivered - app.fresh
  expect(uncredited, 'credit returned for bytes the application has not taken').to.be.at.least(untaken)
}

/** Reads (or, after closeRead, just waits) to the end: every byte must flow. */
async function finish (run: Run, app: App): Promise<void> {
  run.allow(TOTAL)
  if (!app.readClosed) {
    if (app.paused) { await app.apply({ kind: 'resume' }) }
    if (app.pending !== undefined) { await within(app.pending, 5000, 'pending pull') }
    if (app.mode === 'iterator') { await app.apply({ kind: 'break' }) }
    await app.apply({ kind: 'listen' })
  }
  await until(() => run.sent() === TOTAL && run.stream.writeStatus === 'closed', 5000)
  await run.sending
  if (!app.readClosed) {
    await until(() => app.fresh === TOTAL && app.pos === TOTAL && run.reader.remoteWriteStatus === 'closed', 5000)
  }
  await run.dialer.close()
  await run.listener.close()
}

const FUZZ_RUNS = (globalThis as any).process?.env?.FUZZ_RUNS
const runs = FUZZ_RUNS !== undefined ? Number(FUZZ_RUNS) : 25
const seed = (globalThis as any).process?.env?.FUZZ_SEED

describe('libp2p stream: credit ledger property', function () {
  this.timeout(FUZZ_RUNS !== undefined ? 0 : 120_000)

  it('random read/pause/resume/unshift/push/closeRead/iterator-break sequences: never over-granted, never stalled', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
      const run = await start()
      const app = new App(run.reader, run.allow)
      try {
        for (const op of ops) {
          await within(app.apply(op), 5000, op.kind)
          await quiesce()
          checkNotOverGranted(run, app)
        }
        await finish(run, app)
      } finally {
        run.dialer.abort(new Error('run over'))
        run.listener.abort(new Error('run over'))
      }
    }), { numRuns: runs, seed: seed !== undefined ? Number(seed) : undefined, endOnFailure: (globalThis as any).process?.env?.FUZZ_SHRINK === undefined })
  })
})
