/**
 * The event-loop environment both adapters give the core: a monotonic
 * clock, microtask deferral and timers that do not keep a Node.js process
 * alive on their own (the transport does). Works in browsers too. Counts its
 * live timers so tests can prove every session released its own.
 */
import type { SessionEnvironment } from './core/session.ts'

let liveTimers = 0

export const environment: SessionEnvironment = {
  now: () => performance.now(),
  // host functions are called through closures, never stored: browsers
  // throw "Illegal invocation" when they are called as env.defer(...)
  defer: (task) => { queueMicrotask(task) },
  setTimer (task, delay) {
    liveTimers++
    const timer: any = setTimeout(() => {
      liveTimers--
      task()
    }, delay)
    timer?.unref?.()
    return timer
  },
  clearTimer (handle) {
    liveTimers--
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  }
}

/** Timers set by yamux sessions in this process that have neither fired nor been cleared. */
export function activeTimers (): number {
  return liveTimers
}
