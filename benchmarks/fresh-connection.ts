/**
 * Whether a muxer started on a fresh raw loopback connection leaves the
 * kernel's receive buffer stuck small: one stream, 256 MiB per round, a new
 * `@libp2p/tcp` connection per round with no upgrade exchange before the
 * muxer (BENCH_TCP_FRESH=1), the receiver's short socket reads (< 64 KiB)
 * counted per 16 MiB. A segment with more than 100 short reads is "stuck":
 * the receiver read the kernel's queue dry at nearly every wake-up. See "A
 * fresh loopback connection" in README.md. Run it with
 * `node --require ./scripts/node20-polyfill.cjs dist/benchmarks/fresh-connection.js ours-wait ours mplex chainsafe`;
 * FRESH_ROUNDS (default 10) rounds per contender, contenders interleaved;
 * FRESH_UPGRADED=1 makes the upgrade's round trips before each muxer starts.
 * `ours-wait` is ours with `growAfterFirstPing: true` (the core's and the
 * Node API's default): the setting for a connection nothing has crossed.
 * libp2p never hands a muxer one (the upgrade makes round trips first), so
 * ours' libp2p default does not wait, and may get stuck here.
 */
import { selectContenders } from './contenders.ts'
import { closeMuxer, deferred, writeAll } from './harness.ts'
import { FULL_READ, tcpPair } from './transports.ts'
import type { MuxerContender } from './contenders.ts'
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Socket } from 'node:net'

const MiB = 1024 * 1024
const TOTAL = 256 * MiB
const SEGMENT = 16 * MiB
/** Short reads in a segment past which the receiver counts as stuck (a full-read segment has 0-8). */
const STUCK = 100

interface Round { mbps: number, stuckSegments: number, segments: number }

/** Counts short reads of `socket` per SEGMENT bytes read. */
function readCounter (socket: Socket): number[] {
  const perSegment: number[] = [0]
  let bytes = 0
  socket.on('data', (buf: Uint8Array) => {
    if (buf.byteLength < FULL_READ) { perSegment[perSegment.length - 1]++ }
    bytes += buf.byteLength
    if (bytes >= SEGMENT) {
      bytes -= SEGMENT
      perSegment.push(0)
    }
  })
  return perSegment
}

async function round (contender: MuxerContender): Promise<Round> {
  const pair = await tcpPair()
  const dialer = contender.create(pair.dialer, 10)
  const listener = contender.create(pair.listener, 10)
  try {
    const shortReads = readCounter((pair.listener as MultiaddrConnection & { socket: Socket }).socket)
    const received = deferred()
    let count = 0
    listener.addEventListener('stream', (evt) => {
      evt.detail.addEventListener('message', (e) => {
        count += e.data.byteLength
        if (count >= TOTAL) { received.resolve() }
      })
    })
    const t0 = performance.now()
    const stream = await dialer.createStream()
    await writeAll(stream, TOTAL, new Uint8Array(64 * 1024).fill(0x61))
    await received.promise
    const seconds = (performance.now() - t0) / 1000
    await stream.close()
    const segments = shortReads.slice(0, TOTAL / SEGMENT)
    return { mbps: TOTAL / seconds / 1e6, stuckSegments: segments.filter(n => n > STUCK).length, segments: segments.length }
  } finally {
    await Promise.all([closeMuxer(dialer), closeMuxer(listener)])
    await pair.close()
  }
}

async function main (): Promise<void> {
  // FRESH_UPGRADED=1: the same rounds after the stand-in upgrade's round trips, as libp2p hands a muxer its connection
  process.env.BENCH_TCP_FRESH = process.env.FRESH_UPGRADED === '1' ? '0' : '1'
  const names = process.argv.slice(2)
  const contenders = selectContenders(names.length > 0 ? names : ['ours-wait', 'ours', 'mplex']).filter((c): c is MuxerContender => c.kind === 'muxer')
  const rounds = Number(process.env.FRESH_ROUNDS ?? 10)
  const results = new Map<string, Round[]>(contenders.map(c => [c.name, []]))
  // one unrecorded round each: the first rounds of a cold process are too slow to get stuck
  for (const c of contenders) { await round(c) }
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) { results.get(c.name)?.push(await round(c)) }
  }
  const lines = ['| contender | rounds with a stuck segment | stuck 16 MiB segments | MB/s per round |', '| --- | ---: | ---: | --- |']
  for (const c of contenders) {
    const rs = results.get(c.name) ?? []
    const stuck = rs.reduce((n, r) => n + r.stuckSegments, 0)
    const total = rs.reduce((n, r) => n + r.segments, 0)
    lines.push(`| ${c.label} | ${rs.filter(r => r.stuckSegments > 0).length} of ${rs.length} | ${stuck} of ${total} | ${rs.map(r => r.mbps.toFixed(0)).join(' / ')} |`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
