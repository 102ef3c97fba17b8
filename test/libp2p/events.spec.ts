/** Stream events: built only when someone listens, and every listener still hears them. */
import { expect } from 'aegir/chai'
import { muxers, until } from './helpers.ts'

/** Counts the CustomEvents built while `body` runs, by type. */
async function countBuilt (body: () => Promise<void>): Promise<string[]> {
  const built: string[] = []
  const Original = globalThis.CustomEvent
  class Counting<T> extends Original<T> {
    constructor (type: string, init?: CustomEventInit<T>) {
      super(type, init)
      built.push(type)
    }
  }
  globalThis.CustomEvent = Counting as typeof CustomEvent
  try {
    await body()
  } finally {
    globalThis.CustomEvent = Original
  }
  return built
}

describe('libp2p streams: events', () => {
  it('builds no event for remoteCloseWrite when nobody listens for it, and a listener still hears it', async () => {
    const { dialer, inbound } = muxers()
    const heard: string[] = []
    const built = await countBuilt(async () => {
      const quiet = await dialer.createStream()
      const heardOf = await dialer.createStream()
      await until(() => inbound.length === 2)
      const [quietRemote, listened] = inbound
      quietRemote.addEventListener('message', () => {})
      listened.addEventListener('remoteCloseWrite', (evt) => { heard.push(evt.type) })
      await quiet.close()
      await heardOf.close()
      await until(() => quietRemote.remoteWriteStatus === 'closed' && listened.remoteWriteStatus === 'closed')
    })
    expect(heard).to.deep.equal(['remoteCloseWrite'])
    // one for the stream with a listener, none for the other
    expect(built.filter(type => type === 'remoteCloseWrite')).to.deep.equal(['remoteCloseWrite'])
  })
})
