/**
 * A socket seen through a plain Duplex: Node's HTTP/2 reads a socket's native handle, so
 * bytes already read into the socket's JS buffer (a client's first frames) would be lost
 * to it; through this stream they are not.
 */
import { Duplex } from "node:stream";

/** A Duplex that reads and writes through `socket` (data already buffered in it included). */
export function streamOver(socket: Duplex): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => void socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy();
      cb(err);
    },
  });
  socket.on("data", (d: Buffer) => {
    if (!stream.push(d)) socket.pause();
  });
  socket.once("end", () => stream.push(null));
  socket.once("close", () => stream.destroy());
  return stream;
}
