/**
 * What the decoding algorithms need from a decoder: a batch of rows (sequences) with a key/value cache.
 * The ONNX backend implements it; unit tests use a scripted fake.
 */
export interface DecoderBackend {
  readonly vocabSize: number;
  /** Rows currently in the batch. */
  readonly rows: number;
  /** Runs every row's prompt (different lengths allowed; left-padded inside). Returns logits rows x V. */
  prefill(prompts: number[][], rowImage: number[]): Promise<Float32Array>;
  /** Feeds one new token per row. Returns logits rows x V. */
  step(tokens: number[]): Promise<Float32Array>;
  /** Keeps rows in this order: new row i = old row index[i] (beam reordering and dropping finished rows). */
  reorder(index: number[]): void;
}

/** The generation settings of one decoding loop (BLIP's `generate` semantics). */
export interface GenerationSettings {
  /** beam (greedy when numBeams is 1), diverse (group beam search) or sample (nucleus sampling). */
  decoding: 'beam' | 'diverse' | 'sample';
  maxNewTokens: number;
  /** transformers' min_length: counts the whole sequence, prompt included (the bundle's, normally 0). */
  minLength: number;
  /** No [SEP] before this many generated tokens. */
  minNewTokens: number;
  numBeams: number;
  numReturnSequences: number;
  lengthPenalty: number;
  repetitionPenalty: number;
  earlyStopping: boolean | 'never';
  sepTokenId: number;
  padTokenId: number;
  /** diverse: groups (num_captions) and the Hamming penalty. */
  numBeamGroups: number;
  diversityPenalty: number;
  /** sample: nucleus mass, temperature and the generator's seed (uint32). */
  topP: number;
  temperature: number;
  seed: number;
}

export interface DecodedSequence {
  /** prompt ids (starting with [DEC]) followed by the generated ids (ending with [SEP] if it stopped there). */
  ids: number[];
  promptLength: number;
  /** Beam search: HF's sequences_scores (length-penalised sum of processed log-probs). Greedy: same formula. */
  score: number;
  /** Mean of the raw log-probabilities of the generated tokens. */
  meanLogProb: number;
}
