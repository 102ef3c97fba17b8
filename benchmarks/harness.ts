/**
 * Small helpers shared by the scenarios: write loops that honour 'drain',
 * a guard that turns timeouts and stray exceptions into a failed run, and
 * teardown that never throws.
 */
import type { MessageStream, StreamMuxer } from '@libp2p/interface'

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(err: Error): void
}

export function deferred<T = void> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  // a rejection nobody awaits yet must not become an unhandled rejection
  promise.catch(() => {})
  return { promise, resolve, reject }
}

/** Resolves at the stream's next 'drain'; rejects if it closes first. */
export async function waitDrain (stream: MessageStream): Promise<void> {
  if (!stream.writableNeedsDrain) { return }
  await new Promise<void>((resolve, reject) => {
    function onDrain (): void {
      stream.removeEventListener('close', onClose)
      resolve()
    }
    function onClose (evt: Event & { error?: Error }): void {
      stream.removeEventListener('drain', onDrain)
      reject(evt.error ?? new Error('stream closed while waiting for drain'))
    }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  })
}

/** Sends `total` bytes in writes of `chunk.byteLength`, waiting on 'drain' as asked. */
export async function writeAll (stream: MessageStream, total: number, chunk: Uint8Array): Promise<void> {
  let sent = 0
  while (sent < total) {
    const n = Math.min(chunk.byteLength, total - sent)
    const ok = stream.send(n === chunk.byteLength ? chunk : chunk.subarray(0, n))
    sent += n
    if (!ok) { await waitDrain(stream) }
  }
}

interface MaybeGc { gc?(): void }

export function gc (): void {
  const collect = (globalThis as MaybeGc).gc
  if (collect !== undefined) {
    collect()
    collect()
  }
}

/**
 * Called right before a timed run. By default a full GC, so the run does not
 * pay for the garbage of the one before. `BENCH_GC=0` skips it: the run then
 * sees V8's heap sizing and compiled code as a long-lived process does
 * (a forced GC shrinks the young generation and discards optimised code
 * whose hidden classes had no live object; see benchmarks/README.md).
 */
export function beforeTimedRun (): void {
  if (forcedGcBeforeRuns()) { gc() }
}

/** Whether timed runs start with a forced full GC (`BENCH_GC`, default on). */
export function forcedGcBeforeRuns (): boolean {
  return process.env.BENCH_GC !== '0'
}

export function hasGc (): boolean {
  return typeof (globalThis as MaybeGc).gc === 'function'
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/**
 * Waits for `promise` at most `ms`, and clears its timer either way: a
 * timer left pending kept every process (and profile) alive `ms` longer.
 */
export async function within (promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([promise, new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

export async function closeMuxer (muxer: StreamMuxer | undefined): Promise<void> {
  if (muxer === undefined) { return }
  try {
    await muxer.close({ signal: AbortSignal.timeout(1000) })
  } catch (err: any) {
    try {
      muxer.abort(err instanceof Error ? err : new Error(String(err)))
    } catch {
      // already closed
    }
  }
}

let onStray: ((err: Error) => void) | undefined

function stray (err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err))
  if (onStray !== undefined) {
    onStray(error)
  } else {
    // between runs: log, keep going
    process.stderr.write(`[bench] stray error outside a run: ${error.stack ?? error.message}\n`)
  }
}

/** Keeps an exception thrown from a contender's event handler from ending the process. */
export function installStrayErrorHandlers (): void {
  process.on('uncaughtException', stray)
  process.on('unhandledRejection', stray)
}

/**
 * Runs `fn` and fails it if it takes longer than `timeoutMs` or if an
 * uncaught exception or unhandled rejection happens meanwhile. `cleanup`
 * runs afterwards in every case.
 */
export async function guarded<T> (fn: () => Promise<T>, timeoutMs: number, cleanup?: () => Promise<void>): Promise<T> {
  const failure = deferred<never>()
  const timer = setTimeout(() => { failure.reject(new Error(`timed out after ${timeoutMs} ms`)) }, timeoutMs)
  onStray = (err) => { failure.reject(new Error(`uncaught: ${err.message}`)) }
  try {
    return await Promise.race([fn(), failure.promise])
  } finally {
    clearTimeout(timer)
    if (cleanup !== undefined) {
      try {
        await within(cleanup(), 3000)
      } catch {
        // teardown errors do not change the run's outcome
      }
    }
    onStray = undefined
  }
}

export function errorMessage (err: unknown): string {
  if (err instanceof Error) { return `${err.name}: ${err.message}` }
  return String(err)
}

/**
 * The order the contenders run in during `round`: the rows of a balanced
 * Latin square (Williams' design). Over n rounds (2n when n is odd) every
 * contender runs once in every position and directly after every other
 * contender equally often. A plain rotation keeps the neighbours fixed
 * (with A, B, C, D, C always runs right after B), which biases a pair
 * whenever a run is slowed or sped up by the one before it.
 */
export function roundOrder<T> (items: readonly T[], round: number): T[] {
  const n = items.length
  const period = n % 2 === 0 ? n : 2 * n
  const r = ((round % period) + period) % period
  const row: T[] = []
  // column offsets 0, 1, n-1, 2, n-2, …: consecutive differences 1, -2, 3, -4, … are distinct mod n
  for (let i = 0, low = 1, high = n - 1; i < n; i++) {
    const offset = i === 0 ? 0 : (i % 2 === 1 ? low++ : high--)
    row.push(items[(offset + r) % n])
  }
  return r >= n ? row.reverse() : row
}
