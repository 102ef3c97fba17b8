/**
 * The stream table: live streams by id (O(1)), id allocation, the counts
 * the limits apply to, the receive-window budget, the ACK backlog and the
 * opens it holds back.
 */
import { MAX_U32 } from './constants.ts'
import { StreamLimitError, StreamsExhaustedError } from './errors.ts'
import { WindowBudget } from './flow-control.ts'
import { OpenState, StreamRecord } from './stream-record.ts'
import type { SessionConfig } from './config.ts'

export class StreamTable {
  private readonly map = new Map<number, StreamRecord>()
  private readonly config: SessionConfig
  private nextId: number
  private inbound = 0
  private outbound = 0
  /** Inbound streams the owner has not accepted yet (acceptBacklog). */
  private unaccepted = 0
  /** Our streams whose SYN left and whose ACK has not come (maxAckBacklog). */
  private awaitingAck = 0
  /** Our streams held back by the ACK backlog, in open order, from `heldHead`. */
  private held: StreamRecord[] = []
  private heldHead = 0
  /** Receive windows granted in all (maxSessionWindowSize). */
  readonly budget: WindowBudget

  constructor (config: SessionConfig, firstId: number) {
    this.config = config
    this.nextId = firstId
    this.budget = new WindowBudget(config.maxSessionWindowSize)
  }

  get size (): number { return this.map.size }

  get (id: number): StreamRecord | undefined {
    return this.map.get(id)
  }

  has (id: number): boolean {
    return this.map.has(id)
  }

  values (): IterableIterator<StreamRecord> {
    return this.map.values()
  }

  /** Whether a new stream's receive window fits in the budget. */
  private budgetFits (): boolean {
    return this.budget.fits(this.config.initialStreamWindowSize)
  }

  /**
   * Creates our next stream. Throws StreamLimitError (maxOutboundStreams, or
   * no room in maxSessionWindowSize) or StreamsExhaustedError.
   */
  openOutbound (now: number): StreamRecord {
    if (this.outbound >= this.config.maxOutboundStreams) {
      throw new StreamLimitError(`too many outbound streams (limit ${this.config.maxOutboundStreams})`)
    }
    // a new stream's window is granted by the spec the moment it exists (the
    // peer may send 256 KiB at once): the budget is kept by refusing streams
    if (!this.budgetFits()) {
      throw new StreamLimitError(`maxSessionWindowSize (${this.config.maxSessionWindowSize} bytes) has no room for another stream's receive window`)
    }
    const id = this.nextId
    if (id > MAX_U32) { throw new StreamsExhaustedError() }
    this.nextId += 2
    return this.add(id, true, now)
  }

  /** Whether a SYN from the peer may become a stream (else it gets RST). */
  admitsInbound (): boolean {
    return this.inbound < this.config.maxInboundStreams && this.unaccepted < this.config.acceptBacklog && this.budgetFits()
  }

  /** Creates the peer's stream `id` (admitsInbound said yes). */
  addInbound (id: number, now: number): StreamRecord {
    this.unaccepted++
    return this.add(id, false, now)
  }

  private add (id: number, outbound: boolean, now: number): StreamRecord {
    const stream = new StreamRecord(id, outbound, this.config.initialStreamWindowSize, this.config.maxStreamWindowSize, now)
    this.map.set(id, stream)
    this.budget.used += stream.recvWindow
    if (outbound) { this.outbound++ } else { this.inbound++ }
    return stream
  }

  /** The owner accepted the peer's stream. */
  accepted (): void {
    this.unaccepted--
  }

  /** Whether one more of our SYNs may go out now. */
  get ackRoom (): boolean {
    return this.awaitingAck < this.config.maxAckBacklog
  }

  /** Our stream's SYN goes out: it now awaits an ACK. */
  synSent (stream: StreamRecord): void {
    stream.held = false
    stream.openState = OpenState.SynSent
    this.awaitingAck++
  }

  /** The ACK for one of ours arrived. */
  ackReceived (stream: StreamRecord): void {
    stream.openState = OpenState.Established
    this.awaitingAck--
  }

  /** Holds our new stream back until the ACK backlog has room. */
  hold (stream: StreamRecord): void {
    stream.held = true
    this.held.push(stream)
  }

  /** The oldest held stream that may go out now, or undefined. */
  nextReleasable (): StreamRecord | undefined {
    while (this.heldHead < this.held.length && this.ackRoom) {
      const stream = this.held[this.heldHead++]
      if (!stream.gone) { return stream }
    }
    if (this.heldHead === this.held.length) {
      this.held.length = 0
      this.heldHead = 0
    }
    return undefined
  }

  /** Empties the held opens (no new streams: GoAway either way), handing each live one to `drop`. */
  dropHeld (drop: (stream: StreamRecord) => void): void {
    const held = this.held
    const head = this.heldHead
    this.held = []
    this.heldHead = 0
    for (let i = head; i < held.length; i++) {
      if (!held[i].gone) { drop(held[i]) }
    }
  }

  /**
   * Removes `stream` from the table and its counts. Returns true if it freed
   * a slot in the ACK backlog (held opens may go out).
   */
  remove (stream: StreamRecord): boolean {
    stream.gone = true
    this.map.delete(stream.id)
    this.budget.used -= stream.recvWindow
    if (!stream.outbound) {
      this.inbound--
      if (stream.openState === OpenState.AcceptPending) { this.unaccepted-- }
      return false
    }
    this.outbound--
    if (stream.openState !== OpenState.SynSent) { return false }
    this.awaitingAck--
    return true
  }

  /** Forgets every stream (the session ended); returns them. */
  clear (): StreamRecord[] {
    const all = [...this.map.values()]
    for (const stream of all) { stream.gone = true }
    this.map.clear()
    this.held = []
    this.heldHead = 0
    return all
  }
}
