import tests from '@libp2p/interface-compliance-tests-v6/stream-muxer'
import { yamux as rootYamux } from '../../src/index.ts'
import { yamux } from '../../src/v2/index.ts'

describe('libp2p v2 stream-muxer compliance (@libp2p/interface-compliance-tests 6)', () => {
  tests({
    async setup () {
      return yamux()()
    },
    async teardown () {}
  })
})

describe('libp2p v2 stream-muxer compliance of the root yamux() (@libp2p/interface-compliance-tests 6)', () => {
  tests({
    async setup () {
      return rootYamux()()
    },
    async teardown () {}
  })
})
