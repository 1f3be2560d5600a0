/**
 * @nestjs/swagger gives every media type of a request body the same schema and examples. An operation
 * that needs one schema per media type declares the whole `content` map in this extension
 * (`@ApiExtension(REQUEST_CONTENT_EXTENSION, {...})`); setupDocs moves it into `requestBody`.
 */
import type { OpenAPIObject } from '@nestjs/swagger';

export const REQUEST_CONTENT_EXTENSION = 'x-request-content';

export function applyRequestContent(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Record<string, unknown>[]) {
      if (typeof operation !== 'object' || operation === null) continue;
      const content = operation[REQUEST_CONTENT_EXTENSION];
      if (content === undefined) continue;
      operation.requestBody = { required: true, content };
      delete operation[REQUEST_CONTENT_EXTENSION];
    }
  }
  return document;
}
