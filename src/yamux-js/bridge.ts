/**
 * The byte Duplex a `YamuxSession` runs over inside a yamux-js style
 * Transform: what the session writes becomes the Transform's output, what
 * the Transform is fed becomes the session's input. Chunks pass by
 * reference, and back-pressure is kept both ways.
 */
import { Duplex } from 'node:stream'

/** The Transform side of the bridge. */
export interface BridgeOwner {
  /** Bytes for the peer; false when the reader of the output wants no more for now. */
  pushOutput(chunk: Uint8Array): boolean
  /** The session closed its transport: no more output. */
  endOutput(): void
}

type Callback = (err?: Error | null) => void

export class Bridge extends Duplex {
  private readonly owner: BridgeOwner
  /** The session's write, held until the output is read. */
  private heldWrite: Callback | undefined
  /** The Transform's input callback, held until the session reads again. */
  private heldInput: Callback | undefined

  constructor (owner: BridgeOwner, highWaterMark: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark })
    this.owner = owner
  }

  // ---- session → peer ----

  override _write (chunk: Uint8Array, _encoding: BufferEncoding, callback: Callback): void {
    if (this.owner.pushOutput(chunk)) {
      callback()
    } else {
      this.heldWrite = callback
    }
  }

  override _writev (chunks: Array<{ chunk: Uint8Array }>, callback: Callback): void {
    let more = true
    for (let i = 0; i < chunks.length; i++) { more = this.owner.pushOutput(chunks[i].chunk) }
    if (more) {
      callback()
    } else {
      this.heldWrite = callback
    }
  }

  override _final (callback: Callback): void {
    this.owner.endOutput()
    callback()
  }

  /** The output's reader wants more: let the session write again. */
  outputWanted (): void {
    const callback = this.heldWrite
    if (callback === undefined) { return }
    this.heldWrite = undefined
    callback()
  }

  // ---- peer → session ----

  /** Bytes from the peer; `callback` runs once the session can take more. */
  input (chunk: Uint8Array, callback: Callback): void {
    if (this.push(chunk)) {
      callback()
    } else {
      this.heldInput = callback
    }
  }

  /** The peer's bytes ended cleanly. */
  inputEnded (): void {
    this.push(null)
  }

  override _read (): void {
    const callback = this.heldInput
    if (callback === undefined) { return }
    this.heldInput = undefined
    callback()
  }

  override _destroy (err: Error | null, callback: Callback): void {
    // nothing more will be written or read: release whoever waits on us
    const write = this.heldWrite
    const input = this.heldInput
    this.heldWrite = undefined
    this.heldInput = undefined
    write?.(err ?? null)
    input?.()
    this.owner.endOutput()
    callback(err)
  }
}
