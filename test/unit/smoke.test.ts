import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelError, ModelErrorCode } from '../../src/model/model.errors';

test('model errors carry their code', () => {
  const err = new ModelError(ModelErrorCode.EmptyImage, 'empty');
  assert.equal(err.code, 'image.empty');
});
