import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuFeatures } from '../../../bench/lib/cpu';

const cpuinfo = (flags: string): string =>
  `processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: ${flags}\nbugs\t\t: none\n`;

test('cpuFeatures: AVX-512 VNNI is the best int8 path when present', () => {
  const r = cpuFeatures(cpuinfo('fpu sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16'));
  assert.equal(r.kind, 'avx512-vnni');
  assert.deepEqual(r.flags, ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16']);
});

test('cpuFeatures: AVX-VNNI without AVX-512, AVX2 only, nothing', () => {
  assert.equal(cpuFeatures(cpuinfo('avx avx2 fma avx_vnni')).kind, 'avx-vnni');
  assert.equal(cpuFeatures(cpuinfo('avx avx2 fma')).kind, 'avx2');
  assert.deepEqual(cpuFeatures(''), { kind: 'other', flags: [] });
});
