/**
 * The multipart/form-data body parser: Fastify receives the whole body (up to `bodyLimit`, a 413 beyond)
 * as one Buffer before the route runs, as it does for JSON; the route parses the form from it
 * (src/image/multipart-image.reader.ts). Authentication still comes first (an onRequest hook), and the
 * receive timeouts and the minimum body rate apply as to any body.
 */
import type { FastifyInstance } from 'fastify';
import { MULTIPART_FORM_DATA } from '../image/multipart-image.reader';

export function useBufferedMultipartParser(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.addContentTypeParser(
    MULTIPART_FORM_DATA,
    { parseAs: 'buffer', bodyLimit },
    (_request, body, done) => {
      done(null, body);
    },
  );
}
