// Runs inside a network namespace: forwards 127.0.0.1:<listen> there to <host>:<port> outside, so a page
// opened on localhost is a secure context (getUserMedia) with a loopback cookie, while WebRTC media still
// takes the namespace's veth. Prints the port it listens on, then runs until killed.
import { connect, createServer } from 'node:net'

const [host, port] = process.argv.slice(2)
const server = createServer((socket) => {
  const upstream = connect(Number(port), host)
  socket.pipe(upstream).pipe(socket)
  const close = () => {
    socket.destroy()
    upstream.destroy()
  }
  socket.on('error', close)
  upstream.on('error', close)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
