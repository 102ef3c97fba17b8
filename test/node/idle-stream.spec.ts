/** What an idle stream holds, for both Node APIs: no per-stream objects, closures or listeners beyond Node's Duplex. */
import { Duplex } from 'node:stream'
import { expect } from 'aegir/chai'
import { tcpPair } from '../fixtures/node-peers.ts'
import { IMPLS, connect } from '../yamux-js/fixtures.ts'
import type { JsStream } from '../yamux-js/fixtures.ts'

/** The own properties a plain Node Duplex has: whatever this Node version gives every stream. */
const DUPLEX_KEYS = new Set(Reflect.ownKeys(new Duplex()))

/** At most this many own properties of ours on a stream (id, session, and three small fields). */
const MAX_OWN = 5

/** Own properties a stream has beyond a plain Duplex's, with what they hold. */
function ownState (stream: Duplex): Map<string | symbol, unknown> {
  const own = new Map<string | symbol, unknown>()
  for (const key of Reflect.ownKeys(stream)) {
    if (!DUPLEX_KEYS.has(key)) { own.set(key, (stream as any)[key]) }
  }
  return own
}

/** Asserts that an idle stream holds no objects or functions of its own but its session. */
function expectLean (stream: Duplex, session: object): void {
  const own = ownState(stream)
  expect(own.size, `own properties: ${[...own.keys()].map(String).join(', ')}`).to.be.at.most(MAX_OWN)
  const held = [...own].filter(([, value]) => value !== session && value !== null && (typeof value === 'object' || typeof value === 'function'))
  expect(held.map(([key]) => String(key)), 'objects or functions held by an idle stream').to.deep.equal([])
  expect(stream.eventNames(), 'listeners on an idle stream').to.deep.equal([])
}

describe('idle streams hold little state', () => {
  it('libp2p-yamux/node: an opened and an accepted stream', async () => {
    const { client, server, close } = await tcpPair()
    try {
      const opened = await client.open()
      const accepted = await server.accept()
      expectLean(opened, client)
      expectLean(accepted, server)

      // clearing a deadline that was never set allocates nothing
      opened.setDeadline(0)
      opened.setReadDeadline(null)
      opened.setWriteDeadline(undefined)
      expectLean(opened, client)
    } finally {
      await close()
    }
  })

  it('libp2p-yamux/yamux-js: ID() and close() are shared methods, not per-stream properties', async () => {
    const ours = IMPLS.find(impl => impl.name === 'ours')
    if (ours === undefined) { throw new Error('no "ours" implementation in the yamux-js fixtures') }
    let onAccepted: (stream: JsStream) => void = () => {}
    const accepted = new Promise<JsStream>(resolve => { onAccepted = resolve })
    const pair = await connect(ours, { onServerStream: (stream) => { onAccepted(stream) } })
    try {
      const opened = pair.client.open()
      const atServer = await accepted
      expect(opened.ID()).to.equal(1)
      expect(atServer.ID()).to.equal(1)
      // the yamux-js API's streams belong to the session inside its Transform
      expectLean(opened, (opened as any).session)
      expectLean(atServer, (atServer as any).session)
    } finally {
      pair.teardown()
    }
  })
})
