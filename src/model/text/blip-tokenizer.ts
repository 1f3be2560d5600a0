/**
 * BLIP's tokenizer (BERT uncased WordPiece + [DEC]/[ENC]) loaded from the bundle's tokenizer files by
 * transformers.js's AutoTokenizer, local files only, and the prompt handling of
 * BlipForConditionalGeneration.generate: the tokenizer's leading [CLS] becomes [DEC] (bos) and its
 * trailing [SEP] is dropped; no prompt means [DEC] alone. The parity suite holds its ids and text equal
 * to Python's BlipProcessor on a corpus of prompts (test/parity/tokenizer.test.ts).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { SpecialTokens } from '../bundle/manifest';

export class BlipTokenizer {
  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly special: SpecialTokens,
    private readonly cleanUpSpaces: boolean,
  ) {}

  static async fromBundle(dir: string, special: SpecialTokens): Promise<BlipTokenizer> {
    // Loaded here, not at import: transformers.js costs ~40 MB and a second to import, and a process
    // that never loads a model (the API in queue mode) should not pay for it.
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    // The bundle is a local directory; nothing may be fetched from a hub, whatever the environment says.
    env.allowRemoteModels = false;
    // An absolute path: a relative one would be looked up under transformers.js's own models folder.
    const tokenizer = await AutoTokenizer.from_pretrained(resolve(dir), { local_files_only: true });
    // transformers.js cleans up spaces unless told; Python's tokenizers (transformers 5) do only when the
    // config says so, and BLIP's config does not: "don ' t", as BlipProcessor.decode gives it.
    const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as {
      clean_up_tokenization_spaces?: unknown;
    };
    return new BlipTokenizer(tokenizer, special, config.clean_up_tokenization_spaces === true);
  }

  /** The tokenizer's own ids ([CLS] ... [SEP]), as BlipProcessor gives them. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text);
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
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, {
      skip_special_tokens: true,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }
}
