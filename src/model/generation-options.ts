/**
 * The request-level generation options: every default and bound, defined once. The request DTO, the
 * OpenAPI document, GET /api/v1/models, the cache key's normalization and the runtime's own check all read
 * them from here (issue 11).
 */
export const DECODING_MODES = ['beam', 'diverse', 'sample'] as const;
export type DecodingMode = (typeof DECODING_MODES)[number];

export interface NumericBound {
  min: number;
  max: number;
  integer: boolean;
  /** null: derived (num_beams from num_captions, seed from the image and the other options). */
  default: number | null;
  /** The decoding modes the option applies to; elsewhere it is refused. */
  modes: readonly DecodingMode[];
  description: string;
  example: number;
}

const ALL = DECODING_MODES;
const BEAMS = ['beam', 'diverse'] as const;

/** Keys are the wire (snake_case) names. */
export const GENERATION_BOUNDS = {
  num_captions: {
    min: 1,
    max: 5,
    integer: true,
    default: 1,
    modes: ALL,
    description: 'How many distinct captions to return; fewer when fewer distinct texts exist.',
    example: 3,
  },
  max_new_tokens: {
    min: 1,
    max: 60,
    integer: true,
    default: 20,
    modes: ALL,
    description: 'At most this many tokens after the prompt ([SEP] included).',
    example: 20,
  },
  min_new_tokens: {
    min: 0,
    max: 60,
    integer: true,
    default: 0,
    modes: ALL,
    description: 'No [SEP] (end of caption) before this many new tokens; at most max_new_tokens.',
    example: 5,
  },
  num_beams: {
    min: 1,
    max: 8,
    integer: true,
    default: null,
    modes: BEAMS,
    description:
      'Beams of the search. Default num_captions. beam: at least num_captions; diverse: a multiple of num_captions (one group per caption).',
    example: 4,
  },
  repetition_penalty: {
    min: 1,
    max: 2,
    integer: false,
    default: 1,
    modes: ALL,
    description: 'CTRL repetition penalty on tokens already in the sequence (1 = none).',
    example: 1.2,
  },
  length_penalty: {
    min: -1,
    max: 2,
    integer: false,
    default: 1,
    modes: BEAMS,
    description:
      'Beam score = sum of log-probabilities / length ** length_penalty (> 0 favours longer captions).',
    example: 1,
  },
  diversity_penalty: {
    min: 0.1,
    max: 5,
    integer: false,
    default: 1,
    modes: ['diverse'],
    description: 'diverse: subtracted from a token once per earlier group that chose it at the same step.',
    example: 1,
  },
  top_p: {
    min: 0.05,
    max: 1,
    integer: false,
    default: 0.9,
    modes: ['sample'],
    description: 'sample: nucleus size, the smallest set of most likely tokens with this probability mass.',
    example: 0.9,
  },
  temperature: {
    min: 0.1,
    max: 2,
    integer: false,
    default: 1,
    modes: ['sample'],
    description: 'sample: logits are divided by it before top_p (< 1 sharper, > 1 flatter).',
    example: 0.8,
  },
  seed: {
    min: 0,
    max: 4294967295,
    integer: true,
    default: null,
    modes: ['sample'],
    description:
      'sample: seed of the generator (docs/decoding.md). Default: derived from the image and the other options, so a request always gives the same captions.',
    example: 42,
  },
} as const satisfies Record<string, NumericBound>;

export type GenerationField = keyof typeof GENERATION_BOUNDS;
export const DEFAULT_DECODING: DecodingMode = 'beam';

/** Request options (camelCase), every field optional. */
export interface GenerationOptions {
  decoding?: DecodingMode;
  numCaptions?: number;
  maxNewTokens?: number;
  minNewTokens?: number;
  numBeams?: number;
  repetitionPenalty?: number;
  lengthPenalty?: number;
  diversityPenalty?: number;
  topP?: number;
  temperature?: number;
  seed?: number;
}

/** wire name -> option name. */
export const GENERATION_FIELDS: Record<GenerationField, Exclude<keyof GenerationOptions, 'decoding'>> = {
  num_captions: 'numCaptions',
  max_new_tokens: 'maxNewTokens',
  min_new_tokens: 'minNewTokens',
  num_beams: 'numBeams',
  repetition_penalty: 'repetitionPenalty',
  length_penalty: 'lengthPenalty',
  diversity_penalty: 'diversityPenalty',
  top_p: 'topP',
  temperature: 'temperature',
  seed: 'seed',
};

export interface OptionProblem {
  field: string;
  message: string;
}

/**
 * Every problem with a set of options: types and bounds, options that do not apply to the decoding
 * mode, and the rules between fields. Empty when the options are usable.
 */
export function generationOptionProblems(options: GenerationOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const decoding = options.decoding ?? DEFAULT_DECODING;
  if (!(DECODING_MODES as readonly string[]).includes(decoding)) {
    return [{ field: 'decoding', message: `decoding must be one of ${DECODING_MODES.join(', ')}` }];
  }
  for (const [field, bound] of Object.entries(GENERATION_BOUNDS) as [GenerationField, NumericBound][]) {
    const value = options[GENERATION_FIELDS[field]];
    if (value === undefined) continue;
    const kind = bound.integer ? 'an integer' : 'a number';
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      (bound.integer && !Number.isInteger(value)) ||
      value < bound.min ||
      value > bound.max
    ) {
      problems.push({ field, message: `${field} must be ${kind} from ${bound.min} to ${bound.max}` });
    } else if (!bound.modes.includes(decoding)) {
      problems.push({
        field,
        message: `${field} applies only when decoding is ${bound.modes.join(' or ')} (decoding is ${decoding})`,
      });
    }
  }
  if (problems.length > 0) return problems;
  const numCaptions = options.numCaptions ?? GENERATION_BOUNDS.num_captions.default;
  const maxNew = options.maxNewTokens ?? GENERATION_BOUNDS.max_new_tokens.default;
  if ((options.minNewTokens ?? 0) > maxNew) {
    problems.push({
      field: 'min_new_tokens',
      message: `min_new_tokens must not be greater than max_new_tokens (${maxNew})`,
    });
  }
  if (options.numBeams !== undefined && options.numBeams < numCaptions) {
    problems.push({
      field: 'num_beams',
      message: `num_beams must be at least num_captions (${numCaptions})`,
    });
  }
  if (decoding === 'diverse' && options.numBeams !== undefined && options.numBeams % numCaptions !== 0) {
    problems.push({
      field: 'num_beams',
      message: `num_beams must be a multiple of num_captions (${numCaptions}) with decoding diverse`,
    });
  }
  return problems;
}

/** Options with every default filled in (seed stays as given: its default needs the image). */
export type ResolvedGeneration = Required<Omit<GenerationOptions, 'seed'>> & { seed?: number };

export function resolveGenerationOptions(options: GenerationOptions): ResolvedGeneration {
  const b = GENERATION_BOUNDS;
  const numCaptions = options.numCaptions ?? b.num_captions.default;
  return {
    decoding: options.decoding ?? DEFAULT_DECODING,
    numCaptions,
    maxNewTokens: options.maxNewTokens ?? b.max_new_tokens.default,
    minNewTokens: options.minNewTokens ?? b.min_new_tokens.default,
    numBeams: options.numBeams ?? numCaptions,
    repetitionPenalty: options.repetitionPenalty ?? b.repetition_penalty.default,
    lengthPenalty: options.lengthPenalty ?? b.length_penalty.default,
    diversityPenalty: options.diversityPenalty ?? b.diversity_penalty.default,
    topP: options.topP ?? b.top_p.default,
    temperature: options.temperature ?? b.temperature.default,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
}

/**
 * The smallest equivalent form: only the options that apply to the mode and differ from their default
 * (num_beams' default is num_captions). Requests that mean the same thing normalize the same way.
 */
export function minimalGenerationOptions(options: GenerationOptions): GenerationOptions {
  const r = resolveGenerationOptions(options);
  const out: GenerationOptions = {};
  if (r.decoding !== DEFAULT_DECODING) out.decoding = r.decoding;
  for (const [field, bound] of Object.entries(GENERATION_BOUNDS) as [GenerationField, NumericBound][]) {
    if (field === 'num_captions' || !bound.modes.includes(r.decoding)) continue;
    const name = GENERATION_FIELDS[field];
    const value = r[name];
    const fallback = field === 'num_beams' ? r.numCaptions : bound.default;
    if (value !== undefined && value !== fallback) out[name] = value;
  }
  return out;
}

/** For GET /api/v1/models: the modes and each option's default and bounds. */
export function generationOptionsDescription(): Record<string, unknown> {
  return {
    decoding: { default: DEFAULT_DECODING, values: [...DECODING_MODES] },
    ...Object.fromEntries(
      Object.entries(GENERATION_BOUNDS).map(([field, b]) => [
        field,
        { default: b.default, min: b.min, max: b.max, integer: b.integer, modes: [...b.modes] },
      ]),
    ),
  };
}
