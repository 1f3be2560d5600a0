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

interface ClosingState {
  lingerMs: number;
  timer?: NodeJS.Timeout;
}

type ClosingSocket = Socket & { [CLOSING]?: ClosingState };

function linger(socket: ClosingSocket, state: ClosingState): void {
  if (socket.writable) socket.end();
  if (state.timer !== undefined || socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), state.lingerMs);
  timer.unref();
  state.timer = timer;
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Marks `socket` as closing: Node's own close after the answer (its `destroySoon()`, called once an answer
 * with `Connection: close` is written) half-closes and lingers instead of destroying.
 */
export function closeAfterAnswer(socket: Socket, lingerMs = LINGER_MS): void {
  const s = socket as ClosingSocket;
  if (s[CLOSING] !== undefined || socket.destroyed) return;
  const state: ClosingState = { lingerMs };
  s[CLOSING] = state;
  s.destroySoon = () => linger(s, state);
}

/** Half-closes `socket` now (after what was written) and lingers. */
export function lingeringClose(socket: Socket, lingerMs = LINGER_MS): void {
  closeAfterAnswer(socket, lingerMs);
  socket.destroySoon();
}

/** Whether an answer with `Connection: close` went, or is going, out on this socket. */
export function isClosing(socket: Socket): boolean {
  return (socket as ClosingSocket)[CLOSING] !== undefined;
}

function announcesClose(value: unknown): boolean {
  const text = Array.isArray(value) ? value.join(',') : String(value ?? '');
  return text.split(',').some((token) => token.trim().toLowerCase() === 'close');
}

/**
 * Every answer with `Connection: close` lingers; a request that arrives on such a connection anyway
 * (pipelined behind it) is dropped with the connection. Install before every other onRequest hook.
 */
export function installLingeringClose(fastify: FastifyInstance, lingerMs = LINGER_MS): void {
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
    if (socket && announcesClose(reply.getHeader('connection'))) closeAfterAnswer(socket, lingerMs);
    done(null, payload);
  });
}
