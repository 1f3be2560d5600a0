/**
 * Strict base64 for `image_base64`: the standard alphabet with padding, no whitespace, no data: URL
 * prefix. The decoded size is computed from the text length and checked BEFORE anything is decoded.
 */
import { ImageProblem } from './image.errors';

const STRICT = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodedBase64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

export function decodeStrictBase64(text: string, maxBytes: number): Buffer {
  if (text.length === 0) throw ImageProblem.empty();
  if (text.startsWith('data:')) {
    throw ImageProblem.badInput('image_base64 must be plain base64, without a data: URL prefix.');
  }
  if (text.length % 4 !== 0) {
    throw ImageProblem.badInput('image_base64 is not valid base64: its length is not a multiple of 4.');
  }
  const size = decodedBase64Length(text);
  if (size > maxBytes) {
    throw ImageProblem.tooLarge(`The decoded image_base64 is ${size} bytes; the limit is ${maxBytes} bytes.`);
  }
  if (!STRICT.test(text)) {
    throw ImageProblem.badInput(
      'image_base64 is not valid base64: only A-Z, a-z, 0-9, +, / and trailing = padding are allowed.',
    );
  }
  // Only the last quantum can carry padding or stray low bits ("QR==" decodes like "QQ=="): re-encode it.
  const last = text.slice(-4);
  if (last !== '' && Buffer.from(last, 'base64').toString('base64') !== last) {
    throw ImageProblem.badInput('image_base64 is not canonical base64.');
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== size) {
    throw ImageProblem.badInput('image_base64 is not canonical base64.');
  }
  return bytes;
}
