// An echo server and a client on libp2p-yamux/node, as the README shows them
import net from 'node:net'
import { pipeline } from 'node:stream'
import { Client, Server } from '../src/node/index.ts'

/** Echoes every stream of every connection. */
export function echoServer (): net.Server {
  return net.createServer(async (socket) => {
    // the loop ends when the session does: the client left, reset or misbehaved
    for await (const stream of Server(socket)) {
      // echo; a stream reset by the client ends here, with the error
      pipeline(stream, stream, () => {})
    }
  })
}

/** Sends `message` on one stream and returns the reply; rejects on a reset or disconnect. */
export async function echo (port: number, message: string): Promise<string> {
  const session = Client(net.connect(port))
  try {
    const stream = await session.open()
    stream.end(message)
    const reply: Buffer[] = []
    for await (const chunk of stream) { reply.push(chunk) }
    return Buffer.concat(reply).toString()
  } finally {
    await session.close()
  }
}
