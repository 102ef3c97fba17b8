/**
 * A bounded mixed workload on one libp2p muxer pair (in-process transport):
 * opens, echoes of small and large payloads, half-closes, resets from both
 * sides, pings and, at the end, GoAway. Used by the soak spec (seconds, in
 * `npm test`) and by `npm run soak` (minutes).
 */
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { activeTimers, yamux } from '../../src/index.ts'
import { directPair } from '../fixtures/direct-pair.ts'
import type { YamuxMuxer } from '../../src/index.ts'
import type { Stream } from '@libp2p/interface'

export interface SoakResult {
  seconds: number
  streams: number
  bytes: number
  resets: number
  pings: number
  failures: string[]
  /** Left over after the muxers closed: must all be zero (timers: growth of yamux timers in this process; sessions of other tests may end meanwhile). */
  leftover: { dialerStreams: number, listenerStreams: number, timers: number }
  heapBeforeMiB: number
  heapAfterMiB: number
  heapPeakMiB: number
  rssPeakMiB: number
}

function timers (): number {
  return activeTimers()
}

/** Full garbage collection, exposing V8's gc() on first use. */
export function gc (): void {
  if (typeof (globalThis as any).gc !== 'function') {
    v8.setFlagsFromString('--expose-gc')
    ;(globalThis as any).gc = runInNewContext('gc')
  }
  (globalThis as any).gc()
}

async function drained (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { stream.removeEventListener('close', onClose); resolve() }
    const onClose = (): void => { stream.removeEventListener('drain', onDrain); reject(new Error('closed while writing')) }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  })
}

/** Echo server: everything back, then close; a reset just ends it. */
async function serve (stream: Stream): Promise<void> {
  try {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) { await drained(stream) }
    }
    await stream.close()
  } catch {
    stream.abort(new Error('echo failed'))
  }
}

/** Deterministic pseudo-random numbers (xorshift). */
function random (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 0x100000000
  }
}

type Task = 'echo-small' | 'echo-large' | 'reset-ours' | 'reset-theirs' | 'half-close' | 'ping'

async function runTask (task: Task, dialer: YamuxMuxer, rand: () => number, result: SoakResult): Promise<void> {
  if (task === 'ping') {
    await dialer.ping()
    result.pings++
    return
  }
  const stream = await dialer.createStream()
  result.streams++
  const size = task === 'echo-large' ? 256 * 1024 + Math.floor(rand() * 2 * 1024 * 1024) : 1 + Math.floor(rand() * 4096)
  const payload = new Uint8Array(size).fill(size & 0xff)
  let received = 0
  const reading = (async () => {
    for await (const chunk of stream) { received += chunk.byteLength }
  })()
  if (task === 'reset-ours') {
    stream.send(payload)
    stream.abort(new Error('soak: reset by us'))
    result.resets++
    await reading.catch(() => {})
    return
  }
  if (task === 'reset-theirs') {
    // the echo side resets when it sees this marker
    stream.send(Uint8Array.of(0xEE))
    await reading.catch(() => {})
    result.resets++
    return
  }
  for (let at = 0; at < size; at += 65536) {
    if (!stream.send(payload.subarray(at, at + 65536))) { await drained(stream) }
  }
  if (task === 'half-close') { await new Promise(resolve => setTimeout(resolve, rand() * 5)) }
  await stream.close()
  await reading
  if (received !== size) { throw new Error(`${task}: echoed ${received}/${size} bytes`) }
  result.bytes += size
}

export async function soak (seconds: number, concurrency = 16, seed = 1): Promise<SoakResult> {
  gc()
  const timersBefore = timers()
  const heapBefore = process.memoryUsage().heapUsed
  const [a, b] = directPair({ highWaterMark: 512 * 1024 })
  const options = { keepAliveInterval: 200, maxInboundStreams: 2000, maxOutboundStreams: 2000 }
  const dialer = yamux(options)().createStreamMuxer(a)
  const listener = yamux(options)().createStreamMuxer(b)
  listener.addEventListener('stream', (evt) => {
    const stream = evt.detail
    stream.addEventListener('message', (msg) => {
      if (msg.data.byteLength === 1 && msg.data.subarray()[0] === 0xEE) { stream.abort(new Error('soak: reset by them')) }
    })
    void serve(stream)
  })
  const result: SoakResult = {
    seconds,
    streams: 0,
    bytes: 0,
    resets: 0,
    pings: 0,
    failures: [],
    leftover: { dialerStreams: 0, listenerStreams: 0, timers: 0 },
    heapBeforeMiB: heapBefore / 1048576,
    heapAfterMiB: 0,
    heapPeakMiB: 0,
    rssPeakMiB: 0
  }
  const tasks: Task[] = ['echo-small', 'echo-small', 'echo-small', 'echo-large', 'reset-ours', 'reset-theirs', 'half-close', 'ping']
  const rand = random(seed)
  const end = Date.now() + seconds * 1000
  let heapPeak = 0
  let rssPeak = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      const task = tasks[Math.floor(rand() * tasks.length)]
      try {
        await runTask(task, dialer, rand, result)
      } catch (err: any) {
        if (!String(err?.message).includes('soak: reset')) { result.failures.push(`${task}: ${err?.name} ${err?.message}`) }
      }
      const memory = process.memoryUsage()
      heapPeak = Math.max(heapPeak, memory.heapUsed)
      rssPeak = Math.max(rssPeak, memory.rss)
    }
  }))
  // GoAway with nothing in flight, then close both ends
  await dialer.close()
  await listener.close()
  await a.close()
  await b.close()
  await new Promise(resolve => setTimeout(resolve, 50))
  result.leftover = { dialerStreams: dialer.streams.length, listenerStreams: listener.streams.length, timers: Math.max(0, timers() - timersBefore) }
  gc()
  result.heapAfterMiB = process.memoryUsage().heapUsed / 1048576
  result.heapPeakMiB = heapPeak / 1048576
  result.rssPeakMiB = rssPeak / 1048576
  return result
}
