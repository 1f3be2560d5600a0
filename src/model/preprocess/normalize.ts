/** RGB uint8 (HWC) -> float32 CHW pixel values: rescale, then normalize with the processor's mean/std. */
export interface NormalizeSettings {
  rescaleFactor: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** BlipImageProcessor's settings (CLIP mean/std). */
export const BLIP_NORMALIZE: NormalizeSettings = {
  rescaleFactor: 1 / 255,
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
};

export function toPixelValues(
  rgb: Uint8Array,
  size: number,
  settings: NormalizeSettings = BLIP_NORMALIZE,
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
