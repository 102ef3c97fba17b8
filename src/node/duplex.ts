/** One yamux stream as a Node.js Duplex: back-pressure both ways, errors the application can always catch, deadlines. */
import { Duplex, finished } from 'node:stream'
import { SessionShutdownError, StreamClosedError, TimeoutError } from '../core/errors.ts'
import { environment } from '../environment.ts'
import type { YamuxSession } from './session.ts'
import type { Session } from '../core/session.ts'

/**
 * A deadline: milliseconds from now (`0`, `Infinity`, `null` or `undefined`
 * clear it, like `socket.setTimeout(0)`), or a `Date` (one in the past has
 * already passed).
 */
export type Deadline = number | Date | null | undefined

/** Listening to any of these means the application uses the stream (and may get its error). */
const USE_EVENTS = ['error', 'data', 'readable', 'end', 'close', 'finish', 'drain']

/** One yamux stream as a Node.js Duplex. */
export class YamuxDuplex extends Duplex {
  /** The yamux stream id. */
  readonly id: number
  /** The session this stream belongs to. */
  readonly session: YamuxSession
  private readonly core: Session
  private uncredited = 0
  private pending?: { data: Uint8Array, callback(err?: Error | null): void }
  /** The core no longer knows this stream. */
  private finished = false
  /** The application holds it (its `accept()`/`open()` resolved). */
  private handedOut = false
  /** An error waiting until the application can catch it. */
  private heldError?: Error
  /** Watches for the application's first listener while an error is held. */
  private onNewListener?: (event: string | symbol) => void

  // ---- deadlines: absolute times on the environment clock; one lazy timer ----
  private readDeadline = Infinity
  private writeDeadline = Infinity
  /** The timer has yet to reach this deadline. */
  private readDue = false
  private writeDue = false
  /** 'timeout' was emitted for the current write deadline. */
  private writeReported = false
  private deadlineTimer: unknown
  private deadlineTimerAt = Infinity
  /** Rejects the step of an async iteration waiting for data. */
  private iterationWaiter?: (err: Error) => void

  /** @internal */
  constructor (session: YamuxSession, core: Session, id: number) {
    super({ allowHalfOpen: true })
    this.session = session
    this.core = core
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
    this.readDeadline = at
    this.writeDeadline = at
    this.readDue = this.writeDue = at !== Infinity
    this.writeReported = false
    this.armDeadlines()
    return this
  }

  /** Sets the read deadline (see {@link setDeadline}). */
  setReadDeadline (deadline: Deadline): this {
    this.readDeadline = toTime(deadline)
    this.readDue = this.readDeadline !== Infinity
    this.armDeadlines()
    return this
  }

  /** Sets the write deadline (see {@link setDeadline}). */
  setWriteDeadline (deadline: Deadline): this {
    this.writeDeadline = toTime(deadline)
    this.writeDue = this.writeDeadline !== Infinity
    this.writeReported = false
    this.armDeadlines()
    return this
  }

  /**
   * The application now holds this stream.
   *
   * @internal
   */
  handOut (): void {
    this.handedOut = true
  }

  /** @internal */
  onData (data: Uint8Array): void {
    this.uncredited += data.byteLength
    this.push(data)
  }

  /** @internal */
  onRemoteClose (): void {
    this.push(null)
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
    this.finished = true
    if (this.destroyed || this.heldError !== undefined) { return }
    if (!this.handedOut) {
      this.destroy()
      return
    }
    this.heldError = error
    this.rejectIteration(error)
    setImmediate(() => {
      if (this.destroyed) { return }
      if (this.inUse()) {
        this.deliverHeld()
      } else {
        this.onNewListener = (event) => {
          if (USE_EVENTS.includes(event as string)) { this.deliverHeld() }
        }
        this.on('newListener', this.onNewListener)
      }
    })
  }

  /**
   * The session ended without error.
   *
   * @internal
   */
  onSessionEnd (): void {
    this.finished = true
    if (this.destroyed || this.heldError !== undefined) { return }
    // a clean end, like a socket's: the readable side ends (what is
    // buffered can still be read); only a write still waiting for room fails
    this.push(null)
    const pending = this.pending
    this.pending = undefined
    pending?.callback(new SessionShutdownError('session closed before this write could be sent'))
  }

  /** @internal */
  onWritable (): void {
    const pending = this.pending
    if (pending === undefined) { return }
    this.pending = undefined
    this._write(pending.data, 'binary', pending.callback)
  }

  override _read (): void {
    // the reader wants more: return credit for what it has taken so far
    if (this.uncredited > 0) {
      this.core.consume(this.id, this.uncredited)
      this.uncredited = 0
    }
  }

  override _write (chunk: Buffer | Uint8Array, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.heldError !== undefined) {
      callback(this.heldError)
      return
    }
    let data: Uint8Array = chunk
    try {
      while (data.byteLength > 0) {
        const taken = this.core.write(this.id, data)
        if (taken === 0) {
          this.pending = { data, callback }
          if (this.writeDeadline !== Infinity) { this.checkWriteDeadline() }
          return
        }
        data = data.subarray(taken)
      }
    } catch (err: any) {
      callback(this.finished ? new StreamClosedError(`stream ${this.id} is closed`) : err)
      return
    }
    callback()
  }

  override _final (callback: (err?: Error | null) => void): void {
    if (this.heldError !== undefined) {
      callback(this.heldError)
      return
    }
    this.core.closeWrite(this.id)
    callback()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    const graceful = this.writableFinished && this.readableEnded
    if (!this.finished && !graceful) {
      // destroyed before both halves closed: tell the peer
      this.core.reset(this.id)
    }
    this.finished = true
    this.stopWatchingListeners()
    this.clearDeadlineTimer()
    this.readDeadline = this.writeDeadline = Infinity
    const pending = this.pending
    this.pending = undefined
    pending?.callback(err ?? new StreamClosedError('stream destroyed'))
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
      try {
        await new Promise<void>((resolve, reject) => {
          // a read that blocks after its deadline fails at once
          if (this.readDeadline <= environment.now()) {
            reject(this.readTimeout())
            return
          }
          wake = resolve
          this.iterationWaiter = reject
        })
      } catch (err) {
        timedOut = err instanceof TimeoutError && this.heldError === undefined
        throw err
      } finally {
        wake = undefined
        this.iterationWaiter = undefined
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

  /** The application listens to or has used this stream. */
  private inUse (): boolean {
    for (const event of USE_EVENTS) {
      if (this.listenerCount(event) > 0) { return true }
    }
    return this.writableLength > 0 || this.pending !== undefined || this.readableFlowing === true
  }

  private deliverHeld (): void {
    this.stopWatchingListeners()
    const error = this.heldError
    if (error !== undefined && !this.destroyed) { this.destroy(error) }
  }

  private stopWatchingListeners (): void {
    if (this.onNewListener === undefined) { return }
    this.off('newListener', this.onNewListener)
    this.onNewListener = undefined
  }

  private rejectIteration (error: Error): void {
    const reject = this.iterationWaiter
    this.iterationWaiter = undefined
    reject?.(error)
  }

  private readTimeout (): TimeoutError {
    return new TimeoutError(`stream ${this.id}: read deadline passed`)
  }

  /** Arms the one timer at the earliest deadline not yet reached. */
  private armDeadlines (): void {
    if (this.destroyed) { return }
    const now = environment.now()
    let at = Infinity
    if (this.readDue && this.readDeadline < at) { at = this.readDeadline }
    if (this.writeDue && this.writeDeadline < at) { at = this.writeDeadline }
    if (at === this.deadlineTimerAt) { return }
    this.clearDeadlineTimer()
    if (at === Infinity) { return }
    this.deadlineTimerAt = at
    this.deadlineTimer = environment.setTimer(() => {
      this.deadlineTimer = undefined
      this.deadlineTimerAt = Infinity
      this.onDeadline()
    }, Math.max(at - now, 0))
  }

  private clearDeadlineTimer (): void {
    if (this.deadlineTimer === undefined) { return }
    environment.clearTimer(this.deadlineTimer)
    this.deadlineTimer = undefined
    this.deadlineTimerAt = Infinity
  }

  private onDeadline (): void {
    if (this.destroyed) { return }
    const now = environment.now()
    if (this.readDue && this.readDeadline <= now) {
      this.readDue = false
      // a read is blocked: the application waits for data and none is here
      if (this.readableLength === 0 && !this.readableEnded &&
          (this.iterationWaiter !== undefined || this.readableFlowing === true || this.listenerCount('readable') > 0)) {
        const error = this.readTimeout()
        this.rejectIteration(error)
        this.emit('timeout', error)
      }
    }
    if (this.writeDue && this.writeDeadline <= now) {
      this.writeDue = false
      this.checkWriteDeadline()
    }
    this.armDeadlines()
  }

  /** A write is blocked and its deadline has passed: report it once. */
  private checkWriteDeadline (): void {
    if (this.writeReported || this.pending === undefined || this.writeDeadline > environment.now()) { return }
    this.writeReported = true
    this.emit('timeout', new TimeoutError(`stream ${this.id}: write deadline passed`))
  }
}

function toTime (deadline: Deadline): number {
  if (deadline === null || deadline === undefined) { return Infinity }
  if (deadline instanceof Date) {
    const time = deadline.getTime()
    if (Number.isNaN(time)) { throw new TypeError('deadline is an invalid Date') }
    return environment.now() + (time - Date.now())
  }
  if (typeof deadline !== 'number' || Number.isNaN(deadline) || deadline < 0) {
    throw new TypeError('deadline must be a Date, or a non-negative number of milliseconds from now')
  }
  return deadline === 0 ? Infinity : environment.now() + deadline
}
