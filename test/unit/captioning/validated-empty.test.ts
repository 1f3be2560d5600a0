import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsOptional, IsString } from 'class-validator';
import { AppError } from '../../../src/common/app-error';
import { validated } from '../../../src/captioning/caption-request.parser';
import { CaptionOptionsDto } from '../../../src/captioning/dto/caption-request.dto';

class NeedsName {
  @IsString()
  name!: string;
}

class AllOptional {
  @IsOptional()
  @IsString()
  name?: string;
}

const isBadRequest = (err: unknown): boolean => err instanceof AppError && err.problem.status === 400;

test('an empty object is judged by its class every time: refused as often as it is sent', async () => {
  for (let i = 0; i < 3; i++) await assert.rejects(validated(NeedsName, {}), isBadRequest);
});

test('once an empty object passed, later ones get a fresh instance of the class; members are still validated', async () => {
  for (const cls of [AllOptional, CaptionOptionsDto] as (new () => object)[]) {
    const first = await validated(cls, {});
    const second = await validated(cls, {});
    assert.ok(second instanceof cls);
    assert.notEqual(second, first);
    assert.deepEqual({ ...second }, { ...first });
  }
  await assert.rejects(validated(AllOptional, { name: 5 }), isBadRequest);
  await assert.rejects(validated(CaptionOptionsDto, { num_captions: 99 }), isBadRequest);
  assert.equal((await validated(AllOptional, { name: 'x' })).name, 'x');
});
