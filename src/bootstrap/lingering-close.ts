/**
 * Closing a connection without resetting it. Node destroys a socket as soon as an answer carrying
 * `Connection: close` is written; when the client is still sending its body (a 401 before the body, a 413
 * from Content-Length, a 503 while draining, a 431 from the parser) the unread bytes make the kernel send
 * a TCP reset, and the client reports EPIPE or ECONNRESET instead of the answer (28 of 100 fetch calls
 * with an 8 MiB body over the JSON limit, before this). Here such a connection closes the way RFC 9112
 * section 9.6 describes: the answer and a FIN go out, what the client still sends is read and thrown away
 * (Node's parser dumps an unread body, nothing is buffered), and the socket is destroyed when the client
 * closes its side or after the linger time at most. A request that arrives on the connection once the
 * answer is on its way is dropped with it, never processed (RFC 9112 section 9.6).
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** The longest a closing connection may go on sending after its answer. */
export const LINGER_MS = 5000;

const CLOSING = Symbol('captioner.closing');

type ClosingSocket = Socket & { [CLOSING]?: true };

/**
 * Marks `socket` as closing: Node's own close after the answer (its `destroySoon()`, called once an answer
 * with `Connection: close` is written) half-closes and lingers instead of destroying.
 */
export function closeAfterAnswer(socket: Socket): void {
  const s = socket as ClosingSocket;
  if (s[CLOSING] || socket.destroyed) return;
  s[CLOSING] = true;
  let timer: NodeJS.Timeout | undefined;
  s.destroySoon = () => {
    if (s.writable) s.end();
    if (timer !== undefined || s.destroyed) return;
    timer = setTimeout(() => s.destroy(), LINGER_MS).unref();
    s.once('close', () => clearTimeout(timer));
  };
}

/** Half-closes `socket` now (after what was written) and lingers. */
export function lingeringClose(socket: Socket): void {
  closeAfterAnswer(socket);
  socket.destroySoon();
}

/** Whether an answer with `Connection: close` went, or is going, out on this socket. */
export function isClosing(socket: Socket): boolean {
  return (socket as ClosingSocket)[CLOSING] === true;
}

function announcesClose(value: unknown): boolean {
  if (value === undefined) return false;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text.split(',').some((token) => token.trim().toLowerCase() === 'close');
}

/**
 * Every answer with `Connection: close` lingers; a request that arrives on such a connection anyway
 * (pipelined behind it) is dropped with the connection. Install before every other onRequest hook.
 */
export function installLingeringClose(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket as Socket | null;
    if (socket && isClosing(socket)) {
      reply.hijack();
      socket.destroy();
    }
    done();
  });
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const socket = request.raw.socket as Socket | null;
    if (socket && announcesClose(reply.getHeader('connection'))) closeAfterAnswer(socket);
    done(null, payload);
  });
}
