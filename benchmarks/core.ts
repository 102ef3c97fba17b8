/**
 * Microbenchmarks of the sans-I/O core alone (no libp2p, no sockets): header
 * encode/decode, the streaming decoder, and two sessions wired back to back
 * moving data through a synchronous in-memory link. Medians of 5 rounds.
 * Part of `npm run bench`; writes RESULTS-core.md to benchmarks/ (or
 * `BENCH_OUT_DIR`).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FrameDecoder, FrameType, HEADER_LENGTH, Session, decodeHeader, encodeHeaderInto } from '../src/core/index.ts'
import type { SessionEnvironment, SessionHandler } from '../src/core/index.ts'

const ROUNDS = 5
const quick = process.env.BENCH_QUICK === '1'

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function time (fn: () => void): number {
  const start = performance.now()
  fn()
  return (performance.now() - start) / 1000
}

function headerCodec (): Array<[string, string]> {
  const n = quick ? 1_000_000 : 10_000_000
  const buf = new Uint8Array(HEADER_LENGTH * 1024)
  const encode: number[] = []
  const decode: number[] = []
  const sink = { value: 0 }
  for (let r = 0; r < ROUNDS; r++) {
    encode.push(n / time(() => {
      for (let i = 0; i < n; i++) { encodeHeaderInto(buf, (i & 1023) * HEADER_LENGTH, FrameType.Data, i & 0xf, i, i * 7) }
    }))
    decode.push(n / time(() => {
      for (let i = 0; i < n; i++) { sink.value += decodeHeader(buf, (i & 1023) * HEADER_LENGTH).length }
    }))
  }
  if (sink.value === -1) { console.log(sink) } // eslint-disable-line no-console -- keeps the loop from being optimised away
  return [
    ['encode header', `${(median(encode) / 1e6).toFixed(1)} M headers/s`],
    ['decode header', `${(median(decode) / 1e6).toFixed(1)} M headers/s`]
  ]
}

function streamingDecoder (): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  for (const [payload, chunk] of [[65536, 65536], [1024, 16384], [65536, 1500]]) {
    const frames = Math.max(1, Math.floor((quick ? 16 : 128) * 1024 * 1024 / payload))
    const one = new Uint8Array(HEADER_LENGTH + payload)
    encodeHeaderInto(one, 0, FrameType.Data, 0, 1, payload)
    const stream = new Uint8Array(one.byteLength * Math.min(frames, 64))
    for (let i = 0; i < Math.min(frames, 64); i++) { stream.set(one, i * one.byteLength) }
    const rates: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      let bytes = 0
      const decoder = new FrameDecoder({ onHeader () {}, onPayload (_h, piece) { bytes += piece.byteLength }, onFrameEnd () {} })
      const seconds = time(() => {
        for (let done = 0; done < frames; done += 64) {
          for (let at = 0; at < stream.byteLength; at += chunk) { decoder.push(stream.subarray(at, at + chunk)) }
        }
      })
      rates.push(bytes / 1e6 / seconds)
    }
    rows.push([`decode ${payload} B frames fed in ${chunk} B chunks (payload as zero-copy views)`, `${median(rates).toFixed(0)} MB/s of payload`])
  }
  return rows
}

/** Two sessions over a synchronous link; deferred work runs from a plain queue. */
function backToBack (streams: number): number {
  const total = (quick ? 128 : 1024) * 1024 * 1024
  const tasks: Array<() => void> = []
  let clock = 0
  const environment: SessionEnvironment = {
    now: () => clock,
    defer: (task) => { tasks.push(task) },
    setTimer: () => 0,
    clearTimer: () => {}
  }
  let received = 0
  const peers: Session[] = []
  const handler = (self: 0 | 1): SessionHandler => ({
    write: (chunks) => {
      const peer = peers[1 - self]
      for (const chunk of chunks) { peer.receive(chunk) }
      return true
    },
    onStream: (id) => { peers[self].acceptStream(id) },
    onData: (id, data) => { received += data.byteLength; peers[self].consume(id, data.byteLength) },
    onRemoteClose: () => {},
    onStreamReset: () => {},
    onStreamClosed: () => {},
    onWritable: () => {},
    onGoAway: () => {},
    onClose: () => {}
  })
  const config = { enableKeepAlive: false, maxOutboundStreams: 100_000, maxInboundStreams: 100_000 }
  peers.push(new Session({ client: true, environment, handler: handler(0), config }))
  peers.push(new Session({ client: false, environment, handler: handler(1), config }))
  const run = (): void => { while (tasks.length > 0) { tasks.shift()?.() } }
  run()
  clock = 0.1 // the initial ping's RTT, for window tuning
  const ids = Array.from({ length: streams }, () => peers[0].openStream())
  const chunk = new Uint8Array(65536)
  const perStream = Math.floor(total / streams / chunk.byteLength) * chunk.byteLength
  const sent = new Array<number>(streams).fill(0)
  const seconds = time(() => {
    let pending = true
    while (pending) {
      pending = false
      for (let i = 0; i < streams; i++) {
        while (sent[i] < perStream) {
          const taken = peers[0].write(ids[i], chunk.subarray(0, Math.min(chunk.byteLength, perStream - sent[i])))
          sent[i] += taken
          if (taken === 0) { break }
        }
        if (sent[i] < perStream) { pending = true }
      }
      run()
      clock += 0.01
    }
  })
  if (received !== perStream * streams) { throw new Error(`delivered ${received} of ${perStream * streams} bytes`) }
  return received / 1e6 / seconds
}

const rows: Array<[string, string]> = [...headerCodec(), ...streamingDecoder()]
for (const streams of [1, 1000]) {
  const rates: number[] = []
  for (let r = 0; r < ROUNDS; r++) { rates.push(backToBack(streams)) }
  rows.push([`two cores back to back, ${streams} stream(s), 64 KiB writes`, `${median(rates).toFixed(0)} MB/s`])
}

const table = ['| core microbenchmark | median of 5 |', '| --- | ---: |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n')
process.stdout.write(`${table}\n`)
process.stdout.write(`BENCH_JSON ${JSON.stringify({ case: 'core', rows: Object.fromEntries(rows) })}\n`)
const outDir = process.env.BENCH_OUT_DIR ?? fileURLToPath(new URL('../../benchmarks', import.meta.url))
mkdirSync(outDir, { recursive: true })
const out = path.join(outDir, 'RESULTS-core.md')
writeFileSync(out, `# Core microbenchmarks\n\nWritten by \`npm run bench\` on ${new Date().toISOString()} (Node ${process.version}).\n\n${table}\n`)
