/**
 * A small typed event target for streams: no listener storage until the
 * first listener, one dispatch loop, no native EventTarget per stream.
 * Semantics follow the DOM's where libp2p code can tell: `once`, `signal`,
 * duplicate registrations ignored, listeners added during a dispatch not
 * called by it, removed ones no longer called.
 */
import type { EventHandler, TypedEventTarget } from '@libp2p/interface'

interface Entry {
  type: string
  fn: EventHandler<any>
  once: boolean
  signal?: AbortSignal
  onAbort?(): void
  removed: boolean
}

export class LeanEventTarget<EventMap extends Record<string, any>> implements TypedEventTarget<EventMap> {
  /** Copied on every change, so a dispatch can walk the list it started with. */
  private entries: Entry[] | undefined = undefined

  listenerCount (type: string): number {
    const entries = this.entries
    if (entries === undefined) { return 0 }
    let n = 0
    for (let i = 0; i < entries.length; i++) { if (entries[i].type === type) { n++ } }
    return n
  }

  addEventListener<K extends keyof EventMap>(type: K, listener: EventHandler<EventMap[K]> | null, options?: boolean | AddEventListenerOptions): void
  addEventListener (type: string, listener: EventHandler<Event> | null, options?: boolean | AddEventListenerOptions): void
  addEventListener (type: string, listener: EventHandler<Event> | null, options?: boolean | AddEventListenerOptions): void {
    if (listener === null) { return }
    const once = typeof options === 'object' && options.once === true
    const signal = typeof options === 'object' ? options.signal : undefined
    if (signal?.aborted === true) { return }
    const entries = this.entries ?? []
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].type === type && entries[i].fn === listener) { return }
    }
    const entry: Entry = { type, fn: listener, once, signal, removed: false }
    if (signal !== undefined) {
      entry.onAbort = () => { this.removeEventListener(type, listener) }
      signal.addEventListener('abort', entry.onAbort, { once: true })
    }
    this.entries = [...entries, entry]
    this.listenersChanged(type)
  }

  removeEventListener<K extends keyof EventMap>(type: K, listener?: EventHandler<EventMap[K]> | null, options?: boolean | EventListenerOptions): void
  removeEventListener (type: string, listener?: EventHandler<Event> | null, options?: boolean | EventListenerOptions): void
  removeEventListener (type: string, listener?: EventHandler<Event> | null): void {
    const entries = this.entries
    if (entries === undefined) { return }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]
      if (entry.type === type && entry.fn === listener) {
        this.drop(entries, i)
        return
      }
    }
  }

  dispatchEvent (event: Event): boolean {
    const entries = this.entries
    if (entries === undefined) { return true }
    const type = event.type
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]
      if (entry.type !== type || entry.removed) { continue }
      if (entry.once) { this.removeEventListener(type, entry.fn) }
      try {
        if (typeof entry.fn === 'function') { entry.fn.call(this, event) } else { entry.fn.handleEvent(event) }
      } catch (err) {
        // as EventTarget does: a throwing listener neither stops the others
        // nor reaches the code that dispatched
        queueMicrotask(() => { throw err })
      }
    }
    return !event.defaultPrevented
  }

  safeDispatchEvent<Detail>(type: keyof EventMap, detail?: CustomEventInit<Detail>): boolean {
    // an event nobody listens for is not built: Node's Event constructor
    // costs more than the rest of a dispatch (it reads the clock)
    if (!this.hasListeners(type as string)) { return true }
    return this.dispatchEvent(new CustomEvent(type as string, detail))
  }

  /** True if anything listens for `type` (cheaper than listenerCount). */
  protected hasListeners (type: string): boolean {
    const entries = this.entries
    if (entries === undefined) { return false }
    for (let i = 0; i < entries.length; i++) { if (entries[i].type === type) { return true } }
    return false
  }

  /** Called after a listener of `type` was added or removed. */
  protected listenersChanged (_type: string): void {}

  private drop (entries: Entry[], index: number): void {
    if (index < 0) { return }
    const entry = entries[index]
    entry.removed = true
    if (entry.onAbort !== undefined) { entry.signal?.removeEventListener('abort', entry.onAbort) }
    this.entries = entries.length === 1 ? undefined : entries.filter(e => e !== entry)
    this.listenersChanged(entry.type)
  }
}
