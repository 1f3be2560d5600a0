/**
 * Tokenizer parity: the runtime's BlipTokenizer (transformers.js AutoTokenizer on the bundle's files)
 * against Python's BlipProcessor (tools/blip-export/tokenizer_reference.py) on a corpus of prompts
 * chosen to break tokenizers: accents, CJK, emoji, punctuation, whitespace runs, control and invisible
 * characters, long prompts; and on decodes of id sequences (the corpus's own ids and seeded random ones,
 * special tokens and ## pieces included). Ids and text must be identical.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readManifest } from '../../src/model/bundle/manifest';
import { BlipTokenizer } from '../../src/model/text/blip-tokenizer';
import { ensureTinyBundle, projectRoot } from './reference';

const bundle = process.env.PARITY_BUNDLE ?? join(projectRoot, 'models', 'test-tiny');
const python = join(projectRoot, 'tools', 'blip-export', '.venv', 'bin', 'python');

const words = 'a dog running on the beach with a red ball near the water at sunset'.split(' ');
const long = (n: number): string => Array.from({ length: n }, (_, i) => words[i % words.length]).join(' ');

export const CORPUS: string[] = [
  '',
  ' ',
  'a picture of',
  'a photography of',
  'A Picture OF',
  // accents and other Latin scripts (BERT uncased strips accents)
  'Café naïve Ångström',
  'crème brûlée à la française',
  'Zoë’s façade, São Paulo, Kraków, Ærøskøbing',
  'e\u0301 (combining acute) vs é',
  'straße ǅemal ŁÓDŹ',
  // CJK, other scripts
  '一只猫在沙发上',
  '犬が浜辺を走っている',
  '고양이 사진',
  'صورة قطة',
  'фотография собаки',
  'कुत्ते की तस्वीर',
  'ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ',
  // emoji, symbols, invisible characters
  '🐶🏖️ a dog 🐕‍🦺 on a beach 🌅',
  '👩🏽‍💻 at a desk ✨',
  'zero\u200bwidth\u200dspace and\u00a0nbsp',
  'soft\u00adhyphen and bom\ufeff',
  'control\u0007bell\u0000null',
  // punctuation, numbers, markup
  'a dog, running! (on) the beach... "quoted" \'single\' — dash – en',
  "don't won't it's dogs' ball",
  '3.14 1,000,000 10% $5 #hashtag @user 2026-12-05',
  'https://example.com/path?q=1&x=2 user@example.com',
  '<b>bold</b> [brackets] {braces} a|b a/b a\\b ~`^',
  '¿Qué? ¡Sí! «guillemets» „quotes“',
  // whitespace runs
  '  a\tdog \n on   the\r\nbeach  ',
  '\t\t\t',
  'a        picture        of',
  // long prompts
  long(40),
  long(60).slice(0, 200),
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic',
  'x'.repeat(200),
];

/** Seeded (mulberry32) random id lists over the vocabulary, specials included. */
function randomIdLists(vocab: number, count: number, seed: number): number[][] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + Math.floor(next() * 24) }, () => Math.floor(next() * vocab)),
  );
}

interface PythonAnswer {
  texts: { text: string; ids: number[]; decoded: string }[];
  decodes: string[];
}

let tokenizer: BlipTokenizer;
let bos: number;

before(async () => {
  ensureTinyBundle(bundle);
  const manifest = await readManifest(bundle);
  bos = manifest.special_tokens.bos;
  tokenizer = await BlipTokenizer.fromBundle(bundle, manifest.special_tokens);
});

function reference(texts: string[], idLists: number[][]): PythonAnswer {
  const out = execFileSync(
    python,
    [join(projectRoot, 'tools', 'blip-export', 'tokenizer_reference.py'), bundle],
    {
      input: JSON.stringify({ texts, id_lists: idLists }),
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(out.toString('utf8')) as PythonAnswer;
}

test('encode and decode of every corpus prompt equal BlipProcessor, ids and text', () => {
  const ref = reference(CORPUS, []);
  assert.equal(ref.texts.length, CORPUS.length);
  const mismatches: string[] = [];
  for (const r of ref.texts) {
    const ids = tokenizer.encode(r.text);
    if (JSON.stringify(ids) !== JSON.stringify(r.ids)) {
      mismatches.push(`encode ${JSON.stringify(r.text)}: ours ${ids.join(',')} python ${r.ids.join(',')}`);
    }
    const text = tokenizer.decode(r.ids);
    if (text !== r.decoded) {
      mismatches.push(
        `decode ${JSON.stringify(r.text)}: ours ${JSON.stringify(text)} python ${JSON.stringify(r.decoded)}`,
      );
    }
    // The decoder's start ids: [DEC] + the prompt's ids without [CLS] and [SEP] (generate's rule).
    const start = tokenizer.promptIds(r.text);
    const expected = r.text.trim() === '' || r.ids.length < 2 ? [bos] : [bos, ...r.ids.slice(1, -1)];
    assert.deepEqual(start, expected, JSON.stringify(r.text));
  }
  process.stdout.write(`# tokenizer parity: ${CORPUS.length} prompts, ${mismatches.length} mismatches\n`);
  assert.deepEqual(mismatches, []);
});

test('decode of seeded random id sequences (specials and ## pieces included) equals BlipProcessor', () => {
  const idLists = [...randomIdLists(30524, 300, 7), [101, 102], [], [100, 100], [0, 0, 101, 1037, 0]];
  const ref = reference([], idLists);
  const mismatches = idLists
    .map((ids, i) => ({ ids, ours: tokenizer.decode(ids), python: ref.decodes[i] }))
    .filter((m) => m.ours !== m.python)
    .map((m) => `${m.ids.join(',')}: ours ${JSON.stringify(m.ours)} python ${JSON.stringify(m.python)}`);
  process.stdout.write(
    `# tokenizer decode parity: ${idLists.length} id lists, ${mismatches.length} mismatches\n`,
  );
  assert.deepEqual(mismatches.slice(0, 10), []);
});
