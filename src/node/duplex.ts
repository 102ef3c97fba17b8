/** One yamux stream as a Node.js Duplex: back-pressure both ways, errors the application can always catch, deadlines. */
import { Duplex, finished } from 'node:stream'
import { ChunkQueue, PACK_BELOW } from '../chunk-queue.ts'
import { SessionShutdownError, StreamClosedError, TimeoutError } from '../core/errors.ts'
import { environment } from '../environment.ts'
import { StreamExtras, toTime } from './stream-extras.ts'
import type { YamuxSession } from './session.ts'
import type { Deadline } from './stream-extras.ts'
export type { Deadline } from './stream-extras.ts'

/** Pushed to end a `_read()` that has nothing to give (Node's documented `push('')` effect). */
const NOTHING = new Uint8Array(0)

/** Listening to any of these means the application uses the stream (and may get its error). */
const USE_EVENTS = ['error', 'data', 'readable', 'end', 'close', 'finish', 'drain']

// bits of YamuxDuplex.flags (one small integer, so that an idle stream is a small object):
const FINISHED = 1 // the core no longer knows this stream
const HANDED_OUT = 2 // the application holds it (its `accept()`/`open()` resolved)
const READ_WANTED = 4 // `_read()` found nothing to give: the next chunk goes to the Readable at once

/** One yamux stream as a Node.js Duplex. */
export class YamuxDuplex extends Duplex {
  /** The yamux stream id. */
  readonly id: number
  /** The session this stream belongs to. */
  readonly session: YamuxSession
  /** Bytes the application has read and not yet returned as credit. */
  private uncredited = 0
  private flags = 0
  /** A blocked write, deadlines, a held error, a waiting iteration: allocated on first use. */
  private extras: StreamExtras | undefined = undefined

  /** @internal */
  constructor (session: YamuxSession, id: number) {
    super({ allowHalfOpen: true })
    this.session = session
    this.id = id
  }

  /**
   * Sets both deadlines. A read or write still blocked when its deadline
   * passes fails with `TimeoutError`: a waiting `for await` step rejects
   * with it and the stream emits `'timeout'` (with the error). Nothing is
   * lost and the stream is not destroyed: move or clear the deadline and go
   * on, or destroy it.
   */
  setDeadline (deadline: Deadline): this {
    const at = toTime(deadline)
    if (at === Infinity && this.extras === undefined) { return this }
    const extras = this.more()
    extras.readDeadline = at
    extras.writeDeadline = at
    extras.readDue = extras.writeDue = at !== Infinity
    extras.writeReported = false
    this.armDeadlines(extras)
    return this
  }

  /** Sets the read deadline (see {@link setDeadline}). */
  setReadDeadline (deadline: Deadline): this {
    const at = toTime(deadline)
    if (at === Infinity && this.extras === undefined) { return this }
    const extras = this.more()
    extras.readDeadline = at
    extras.readDue = at !== Infinity
    this.armDeadlines(extras)
    return this
  }

  /** Sets the write deadline (see {@link setDeadline}). */
  setWriteDeadline (deadline: Deadline): this {
    const at = toTime(deadline)
    if (at === Infinity && this.extras === undefined) { return this }
    const extras = this.more()
    extras.writeDeadline = at
    extras.writeDue = at !== Infinity
    extras.writeReported = false
    this.armDeadlines(extras)
    return this
  }

  /**
   * The application now holds this stream.
   *
   * @internal
   */
  handOut (): void {
    this.flags |= HANDED_OUT
  }

  /** @internal */
  onData (data: Uint8Array): void {
    this.uncredited += data.byteLength
    const staged = this.extras?.staged
    if (staged === undefined || staged.bytes === 0) {
      // the common case: the reader is waiting (or the chunk is large): no copy
      if ((this.flags & READ_WANTED) !== 0 || this.readableLength === 0 || data.byteLength >= PACK_BELOW) {
        this.flags &= ~READ_WANTED
        this.push(data)
        return
      }
    }
    // Node's Readable buffer holds an object per chunk (~120 B of heap per
    // one-byte frame): small chunks that come while it holds data wait
    // packed, and go to it as a few chunks when it asks for more
    (this.more().staged ??= new ChunkQueue(0)).append(data)
    // a large chunk goes on at once, behind what was staged
    if (data.byteLength >= PACK_BELOW || (this.flags & READ_WANTED) !== 0) { this.pushStaged() }
  }

  /** @internal */
  onRemoteClose (): void {
    this.pushStaged()
    this.push(null)
  }

  /** Hands what is staged to the Readable. */
  private pushStaged (): void {
    const staged = this.extras?.staged
    if (staged === undefined || staged.bytes === 0) { return }
    this.flags &= ~READ_WANTED
    for (const chunk of staged.takeAll()) { this.push(chunk) }
  }

  /**
   * The stream ended with `error` (reset by the peer, a timeout, the
   * transport or the session failing). A stream the application never got is
   * dropped silently; otherwise the error is delivered once the application
   * can catch it: not before the next macrotask (so a listener attached
   * right after `await accept()` sees it), and not before it listens to or
   * uses the stream.
   *
   * @internal
   */
  fail (error: Error): void {
    this.flags |= FINISHED
    if (this.destroyed || this.heldError !== undefined) { return }
    if ((this.flags & HANDED_OUT) === 0) {
      this.destroy()
      return
    }
    const extras = this.more()
    extras.heldError = error
    this.rejectIteration(error)
    setImmediate(() => {
      if (this.destroyed) { return }
      if (this.inUse()) {
        this.deliverHeld()
      } else {
        extras.onNewListener = (event) => {
          if (USE_EVENTS.includes(event as string)) { this.deliverHeld() }
        }
        this.on('newListener', extras.onNewListener)
      }
    })
  }

  /**
   * The session ended without error.
   *
   * @internal
   */
  onSessionEnd (): void {
    this.flags |= FINISHED
    if (this.destroyed || this.heldError !== undefined) { return }
    // a clean end, like a socket's: the readable side ends (what is
    // buffered can still be read); only a write still waiting for room fails
    this.pushStaged()
    this.push(null)
    this.takePending()?.(new SessionShutdownError('session closed before this write could be sent'))
  }

  /** @internal */
  onWritable (): void {
    const extras = this.extras
    const data = extras?.pendingData
    if (data === undefined) { return }
    const callback = this.takePending()
    if (callback !== undefined) { this._write(data, 'binary', callback) }
  }

  override _read (): void {
    // the reader wants more: return credit for what it has taken so far
    if (this.uncredited > 0) {
      this.session.core.consume(this.id, this.uncredited)
      this.uncredited = 0
    }
    if ((this.extras?.staged?.bytes ?? 0) > 0) {
      this.pushStaged()
    } else if (this.readableLength > 0) {
      // end this read without data, so the reader's next read() calls
      // _read() again: what arrives meanwhile waits packed in `staged`
      this.push(NOTHING)
    } else {
      this.flags |= READ_WANTED
    }
  }

  override _write (chunk: Buffer | Uint8Array, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const extras = this.extras
    if (extras?.heldError !== undefined) {
      callback(extras.heldError)
      return
    }
    const core = this.session.core
    let data: Uint8Array = chunk
    try {
      while (data.byteLength > 0) {
        const taken = core.write(this.id, data)
        if (taken === 0) {
          const more = extras ?? this.more()
          more.pendingData = data
          more.pendingCallback = callback
          if (more.writeDeadline !== Infinity) { this.checkWriteDeadline(more) }
          return
        }
        data = data.subarray(taken)
      }
    } catch (err: any) {
      callback((this.flags & FINISHED) !== 0 ? new StreamClosedError(`stream ${this.id} is closed`) : err)
      return
    }
    callback()
  }

  override _final (callback: (err?: Error | null) => void): void {
    const heldError = this.heldError
    if (heldError !== undefined) {
      callback(heldError)
      return
    }
    this.session.core.closeWrite(this.id)
    callback()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    const graceful = this.writableFinished && this.readableEnded
    if ((this.flags & FINISHED) === 0 && !graceful) {
      // destroyed before both halves closed: tell the peer
      this.session.core.reset(this.id)
    }
    this.flags |= FINISHED
    const extras = this.extras
    if (extras !== undefined) {
      extras.staged = undefined
      this.stopWatchingListeners(extras)
      extras.clearDeadlineTimer()
      extras.readDeadline = extras.writeDeadline = Infinity
    }
    this.takePending()?.(err ?? new StreamClosedError('stream destroyed'))
    callback(err)
  }

  /**
   * Like Node's Readable iterator (it destroys the stream when the loop ends
   * or fails), except that a step waiting past the read deadline rejects with
   * `TimeoutError` and leaves the stream as it was.
   */
  override [Symbol.asyncIterator] (): ReturnType<Duplex[typeof Symbol.asyncIterator]> {
    return this.iterate() as ReturnType<Duplex[typeof Symbol.asyncIterator]>
  }

  private async * iterate (): AsyncGenerator<any, undefined> {
    let wake: (() => void) | undefined
    const onReadable = (): void => { wake?.() }
    this.on('readable', onReadable)
    let ended: Error | null | undefined // undefined: running; null: ended cleanly
    const cleanup = finished(this, { writable: false }, (err) => {
      ended = err ?? null
      wake?.()
    })
    let timedOut = false
    const waitForData = async (): Promise<void> => {
      const extras = this.more()
      try {
        await new Promise<void>((resolve, reject) => {
          // a read that blocks after its deadline fails at once
          if (extras.readDeadline <= environment.now()) {
            reject(this.readTimeout())
            return
          }
          wake = resolve
          extras.iterationWaiter = reject
        })
      } catch (err) {
        timedOut = err instanceof TimeoutError && extras.heldError === undefined
        throw err
      } finally {
        wake = undefined
        extras.iterationWaiter = undefined
      }
    }
    try {
      for (;;) {
        const chunk = this.destroyed ? null : this.read()
        if (chunk !== null) {
          yield chunk
        } else if (ended != null) {
          throw ended
        } else if (ended === null) {
          return
        } else {
          await waitForData()
        }
      }
    } finally {
      this.off('readable', onReadable)
      cleanup()
      if (!timedOut && !this.destroyed) { this.destroy() }
    }
  }

  // ---------------------------------------------------------------------

  private get heldError (): Error | undefined {
    return this.extras?.heldError
  }

  /** The callback of the write waiting for send room, which no longer waits. */
  private takePending (): ((err?: Error | null) => void) | undefined {
    const extras = this.extras
    if (extras === undefined) { return undefined }
    const callback = extras.pendingCallback
    extras.pendingData = undefined
    extras.pendingCallback = undefined
    return callback
  }

  /** The rarely needed state, allocated now if it was not yet. */
  private more (): StreamExtras {
    return (this.extras ??= new StreamExtras())
  }

  /** The application listens to or has used this stream. */
  private inUse (): boolean {
    for (const event of USE_EVENTS) {
      if (this.listenerCount(event) > 0) { return true }
    }
    return this.writableLength > 0 || this.extras?.pendingData !== undefined || this.readableFlowing === true
  }

  private deliverHeld (): void {
    const extras = this.more()
    this.stopWatchingListeners(extras)
    const error = extras.heldError
    if (error !== undefined && !this.destroyed) { this.destroy(error) }
  }

  private stopWatchingListeners (extras: StreamExtras): void {
    if (extras.onNewListener === undefined) { return }
    this.off('newListener', extras.onNewListener)
    extras.onNewListener = undefined
  }

  private rejectIteration (error: Error): void {
    const extras = this.extras
    if (extras === undefined) { return }
    const reject = extras.iterationWaiter
    extras.iterationWaiter = undefined
    reject?.(error)
  }

  private readTimeout (): TimeoutError {
    return new TimeoutError(`stream ${this.id}: read deadline passed`)
  }

  /** Arms the one timer at the earliest deadline not yet reached. */
  private armDeadlines (extras: StreamExtras): void {
    if (!this.destroyed) { extras.armDeadlines(() => { this.onDeadline(extras) }) }
  }

  private onDeadline (extras: StreamExtras): void {
    if (this.destroyed) { return }
    const now = environment.now()
    if (extras.readDue && extras.readDeadline <= now) {
      extras.readDue = false
      // a read is blocked: the application waits for data and none is here
      if (this.readableLength === 0 && (extras.staged?.bytes ?? 0) === 0 && !this.readableEnded &&
          (extras.iterationWaiter !== undefined || this.readableFlowing === true || this.listenerCount('readable') > 0)) {
        const error = this.readTimeout()
        this.rejectIteration(error)
        this.emit('timeout', error)
      }
    }
    if (extras.writeDue && extras.writeDeadline <= now) {
      extras.writeDue = false
      this.checkWriteDeadline(extras)
    }
    this.armDeadlines(extras)
  }

  /** A write is blocked and its deadline has passed: report it once. */
  private checkWriteDeadline (extras: StreamExtras): void {
    if (extras.writeReported || extras.pendingData === undefined || extras.writeDeadline > environment.now()) { return }
    extras.writeReported = true
    this.emit('timeout', new TimeoutError(`stream ${this.id}: write deadline passed`))
  }
}
