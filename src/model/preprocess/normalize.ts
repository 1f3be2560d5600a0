/**
 * RGB uint8 (HWC) -> float32 CHW pixel values: rescale, then normalize with the mean/std of the bundle's
 * preprocessor_config.json (the only place those constants come from).
 */
export interface NormalizeSettings {
  rescaleFactor: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export function toPixelValues(
  rgb: Uint8Array,
  size: number,
  settings: NormalizeSettings,
  out: Float32Array = new Float32Array(3 * size * size),
): Float32Array {
  const plane = size * size;
  const luts = [0, 1, 2].map((c) => {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      lut[v] = (Math.fround(v * settings.rescaleFactor) - settings.mean[c]) / settings.std[c];
    }
    return lut;
  });
  const [r, g, b] = luts;
  for (let i = 0; i < plane; i++) {
    out[i] = r[rgb[3 * i]];
    out[plane + i] = g[rgb[3 * i + 1]];
    out[2 * plane + i] = b[rgb[3 * i + 2]];
  }
  return out;
}
