/**
 * @packageDocumentation
 *
 * The sans-I/O yamux protocol core: a frame codec and a synchronous session
 * state machine with no sockets, timers or libp2p imports. Adapters feed it
 * transport bytes with `receive()` and write what it hands to `handler.write`.
 */
export * from './constants.ts'
export * from './errors.ts'
export { defaultConfig, verifyConfig, resolveConfig, type SessionConfig, type CoreLogger } from './config.ts'
export { FrameDecoder, decodeHeader, encodeHeader, encodeHeaderInto, type FrameHeader, type FrameSink } from './frame.ts'
export { Session } from './session.ts'
export type { SessionEnvironment, SessionHandler, SessionInit, SessionStats } from './session-types.ts'
export { WindowBudget, addSendCredit, chargeReceive, recordConsumed, takeCredit, MIN_TUNING_RTT } from './flow-control.ts'
export { DeadlineQueue, TimerSlot, TimerTable } from './deadlines.ts'
export { PingState, type PingCallback } from './keep-alive.ts'
export { StreamTable } from './stream-table.ts'
export { Output, type OutputHost } from './output.ts'
export { OutputBatch } from './output-batch.ts'
export { keepable } from './held-payload.ts'
export { StreamRecord, OpenState, WriteState } from './stream-record.ts'
