import tests from '@libp2p/interface-compliance-tests/stream-muxer'
import { yamux } from '../../src/index.ts'

describe('libp2p v3 stream-muxer compliance (@libp2p/interface-compliance-tests)', () => {
  tests({
    async setup () {
      return yamux()()
    },
    async teardown () {}
  })
})
