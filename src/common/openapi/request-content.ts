/**
 * Per-media-type request bodies in the OpenAPI document. nestjs/swagger gives every type an operation
 * consumes the same schema; an operation that takes JSON and multipart with different shapes declares
 * its `content` under this extension (ApiExtension) and `withRequestContent` moves it into place.
 */
import type { OpenAPIObject } from '@nestjs/swagger';

export const REQUEST_CONTENT_EXTENSION = 'x-request-content';

export function withRequestContent(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      if (typeof operation !== 'object' || operation === null || !(REQUEST_CONTENT_EXTENSION in operation))
        continue;
      const op = operation as Record<string, unknown>;
      op.requestBody = { required: true, content: op[REQUEST_CONTENT_EXTENSION] };
      delete op[REQUEST_CONTENT_EXTENSION];
    }
  }
  return document;
}
