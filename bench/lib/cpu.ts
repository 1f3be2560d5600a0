/**
 * The CPU features that decide which ONNX Runtime kernels run (issue 11): int8 dot products (AVX-512 VNNI,
 * AVX-VNNI, AMX) or only AVX2. Recorded in every benchmark's results JSON so figures from different
 * machines are read per CPU kind.
 */
import { readFileSync } from 'node:fs';

const RELEVANT = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8'];

export interface CpuFeatures {
  /** 'avx512-vnni' | 'avx-vnni' | 'avx2' | 'other' (the best int8 path the CPU offers). */
  kind: string;
  /** The relevant flags present, from /proc/cpuinfo (empty where it cannot be read). */
  flags: string[];
}

export function cpuFeatures(cpuinfo?: string): CpuFeatures {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const line = /^flags\s*:(.*)$/m.exec(text)?.[1] ?? '';
  const present = new Set(line.trim().split(/\s+/));
  const flags = RELEVANT.filter((f) => present.has(f));
  const kind = present.has('avx512_vnni')
    ? 'avx512-vnni'
    : present.has('avx_vnni')
      ? 'avx-vnni'
      : present.has('avx2')
        ? 'avx2'
        : 'other';
  return { kind, flags };
}

/**
 * The exporter version a bundle was made with against the exporter in this checkout
 * (tools/blip-export/export.py): a bundle from an older exporter (e.g. dynamically quantized int8 graphs
 * before 1.2.0) must not be benchmarked as if it were current.
 */
export function bundleExporter(root: string, bundle: string): { bundle: string; current: string } {
  const manifest = JSON.parse(readFileSync(`${bundle}/manifest.json`, 'utf8')) as {
    exporter_version?: string;
  };
  const script = readFileSync(`${root}/tools/blip-export/export.py`, 'utf8');
  const current = /^EXPORTER_VERSION = "(.*)"$/m.exec(script)?.[1] ?? 'unknown';
  return { bundle: manifest.exporter_version ?? 'unknown', current };
}
