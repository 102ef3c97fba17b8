/** The rarely needed state of a stream (a blocked write, deadlines and their timer, a held error, a waiting iteration, staged small chunks), allocated on first use. */
import { environment } from '../environment.ts'
import type { ChunkQueue } from '../chunk-queue.ts'

/**
 * A deadline: milliseconds from now (`0`, `Infinity`, `null` or `undefined`
 * clear it, like `socket.setTimeout(0)`), or a `Date` (one in the past has
 * already passed).
 */
export type Deadline = number | Date | null | undefined

/**
 * What most streams never need: an idle stream holds none of it, so that
 * thousands of open streams cost little heap.
 */
export class StreamExtras {
  /** A write waiting for send room: what is left of it, and its callback. */
  pendingData: Uint8Array | undefined = undefined
  pendingCallback: ((err?: Error | null) => void) | undefined = undefined
  /** An error waiting until the application can catch it. */
  heldError: Error | undefined = undefined
  /** Watches for the application's first listener while an error is held. */
  onNewListener: ((event: string | symbol) => void) | undefined = undefined
  /** Rejects the step of an async iteration waiting for data. */
  iterationWaiter: ((err: Error) => void) | undefined = undefined
  /** Small received chunks packed while the Readable's buffer held data (see `YamuxDuplex.onData`). */
  staged: ChunkQueue | undefined = undefined

  // ---- deadlines: absolute times on the environment clock; one lazy timer ----
  readDeadline = Infinity
  writeDeadline = Infinity
  /** The timer has yet to reach this deadline. */
  readDue = false
  writeDue = false
  /** 'timeout' was emitted for the current write deadline. */
  writeReported = false
  deadlineTimer: unknown = undefined
  deadlineTimerAt = Infinity

  /** Arms the one timer at the earliest deadline not yet reached (`onDeadline` runs when it fires). */
  armDeadlines (onDeadline: () => void): void {
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
      onDeadline()
    }, Math.max(at - environment.now(), 0))
  }

  clearDeadlineTimer (): void {
    if (this.deadlineTimer === undefined) { return }
    environment.clearTimer(this.deadlineTimer)
    this.deadlineTimer = undefined
    this.deadlineTimerAt = Infinity
  }
}

/** A {@link Deadline} as an absolute time on the environment clock (`Infinity`: none). */
export function toTime (deadline: Deadline): number {
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
