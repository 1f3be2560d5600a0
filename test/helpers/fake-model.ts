/** A CaptionModel for unit tests: deterministic captions, counted calls, optional delay and failures. */
import type { Caption, CaptionModel, CaptionRequest, ModelInfo } from '../../src/model/caption-model.port';
import { sleep } from './time';

export class FakeCaptionModel implements CaptionModel {
  /** Size of every model.caption call, in order. */
  readonly batches: number[] = [];
  delayMs = 20;
  /** Requests whose prompt equals this fail (as an inference crash would). */
  failOnPrompt?: string;
  ready = true;

  info(): ModelInfo {
    return {
      id: 'test/blip-fake',
      revision: 'fake',
      version: 'fakeversion0001',
      variant: 'fp32',
      executionProvider: 'cpu',
      imageSize: 384,
      preprocessing: { size: 384 },
      generation: { max_new_tokens: 20 },
    };
  }

  isReady(): boolean {
    return this.ready;
  }

  async caption(requests: CaptionRequest[]): Promise<Caption[][]> {
    this.batches.push(requests.length);
    await sleep(this.delayMs);
    if (requests.some((r) => this.failOnPrompt !== undefined && r.options.prompt === this.failOnPrompt)) {
      throw new Error('inference crashed');
    }
    return requests.map((r) => {
      const mean = r.image.rgb.reduce((a, b) => a + b, 0) / Math.max(1, r.image.rgb.length);
      const base = `${r.options.prompt ?? 'an image'} with mean ${mean.toFixed(1)}`;
      return Array.from({ length: r.options.numCaptions ?? 1 }, (_, i) => ({
        text: i === 0 ? base : `${base} (${i + 1})`,
        confidence: 0.9 / (i + 1),
      }));
    });
  }

  get inferences(): number {
    return this.batches.reduce((a, b) => a + b, 0);
  }
}
