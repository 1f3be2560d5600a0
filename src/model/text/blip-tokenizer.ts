/**
 * BLIP's tokenizer (BERT uncased WordPiece + [DEC]/[ENC]) from the bundle's tokenizer.json, and the
 * prompt handling of BlipForConditionalGeneration.generate: the tokenizer's leading [CLS] becomes [DEC]
 * (bos) and its trailing [SEP] is dropped; no prompt means [DEC] alone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { SpecialTokens } from '../bundle/manifest';

export class BlipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly special: SpecialTokens,
  ) {}

  static fromBundle(dir: string, special: SpecialTokens): BlipTokenizer {
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as object;
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as object;
    return new BlipTokenizer(new Tokenizer(json, config), special);
  }

  /** The tokenizer's own ids ([CLS] ... [SEP]), as BlipProcessor gives them. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  /** The decoder's start ids for a prompt. */
  promptIds(prompt: string | undefined): number[] {
    if (prompt === undefined || prompt.trim() === '') return [this.special.bos];
    const ids = this.encode(prompt);
    if (ids.length < 2) return [this.special.bos];
    return [this.special.bos, ...ids.slice(1, -1)];
  }

  /** processor.decode(ids, skip_special_tokens=True) */
  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }
}
