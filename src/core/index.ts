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
export { Session, type SessionEnvironment, type SessionHandler, type SessionInit, type SessionStats } from './session.ts'
