/**
 * Time to open N streams in a process that has opened them before (the
 * memory scenario times a fresh child process, mostly V8 compiling): over
 * the in-process pair, `await createStream()` N times one after another,
 * until the listener was handed all of them; rounds repeat on fresh muxers
 * in the same process, contenders interleaved. Not part of `npm run bench`:
 * `node --require ./scripts/node20-polyfill.cjs dist/benchmarks/open-streams.js ours`
 * (one contender per invocation: in one process each contender's garbage
 * slows the others); OPEN_STREAMS (default 10000) and OPEN_ROUNDS (default 8, the first 3 unrecorded).
 */
import { selectContenders } from './contenders.ts'
import { closeMuxer, deferred } from './harness.ts'
import { median } from './results.ts'
import { inProcessPair } from './transports.ts'
import type { MuxerContender } from './contenders.ts'

const WARM_ROUNDS = 3

async function openAll (contender: MuxerContender, n: number): Promise<number> {
  const pair = inProcessPair()
  const dialer = contender.create(pair.dialer, n * 3)
  const listener = contender.create(pair.listener, n * 3)
  try {
    const held: unknown[] = []
    const arrived = deferred()
    listener.addEventListener('stream', (evt) => {
      held.push(evt.detail)
      if (held.length === 2 * n) { arrived.resolve() }
    })
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      held.push(await dialer.createStream())
      if (held.length === 2 * n) { arrived.resolve() }
    }
    await arrived.promise
    return performance.now() - t0
  } finally {
    await Promise.all([closeMuxer(dialer), closeMuxer(listener)])
    await pair.close()
  }
}

async function main (): Promise<void> {
  const names = process.argv.slice(2)
  const contenders = selectContenders(names.length > 0 ? names : ['ours', 'chainsafe']).filter((c): c is MuxerContender => c.kind === 'muxer')
  const n = Number(process.env.OPEN_STREAMS ?? 10_000)
  const rounds = Number(process.env.OPEN_ROUNDS ?? 8)
  const times = new Map<string, number[]>(contenders.map(c => [c.name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const ms = await openAll(c, n)
      if (r >= WARM_ROUNDS) { times.get(c.name)?.push(ms) }
    }
  }
  const lines = [`| contender | open ${n} streams, ms (median of ${rounds - WARM_ROUNDS} warm rounds) | per stream, µs | rounds |`, '| --- | ---: | ---: | --- |']
  for (const c of contenders) {
    const ms = times.get(c.name) ?? []
    lines.push(`| ${c.label} | ${median(ms).toFixed(1)} | ${(median(ms) * 1000 / n).toFixed(2)} | ${ms.map(t => t.toFixed(0)).join(' / ')} |`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
