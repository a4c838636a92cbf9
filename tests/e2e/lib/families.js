// The conformance models of each architecture family, each installed under a name with its
// family's chat template in its metadata (lib/chat_templates.js), for the tool and reasoning
// tests. HEARTH_CONFORMANCE_DIR names the conformance folder (default ../shared/conformance).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, installModel } from './hearth.js';
import { withChatTemplate } from './gguf.js';
import { TEMPLATES } from './chat_templates.js';

export const conformanceDir =
  process.env.HEARTH_CONFORMANCE_DIR || path.join(repoRoot, '..', 'shared', 'conformance');

// name -> [conformance file, template]
export const FAMILIES = {
  llama3: ['models/llama3-f16.gguf', 'llama3'],
  qwen25: ['models/qwen2-f32.gguf', 'qwen25'],
  mistral: ['models/mixtral-f32.gguf', 'mistral'],
  phi3: ['models/phi3-f32.gguf', 'phi3'],
  qwen3: ['arch/qwen3-f32.gguf', 'qwen3'],
  gemma3: ['arch/gemma3-f32.gguf', 'gemma'],
};

// Installs every family (and `extra` ones: {name: [file, template]}) into `home`; returns the
// names installed.
export async function installFamilies(home, dir, extra = {}) {
  const names = [];
  for (const [name, [file, template]] of Object.entries({ ...FAMILIES, ...extra })) {
    const src = path.join(conformanceDir, file);
    if (!existsSync(src)) throw new Error(`conformance model ${src} is missing`);
    const dst = path.join(dir, `${name}.gguf`);
    withChatTemplate(src, dst, TEMPLATES[template]);
    await installModel(home, dst, name);
    names.push(name);
  }
  return names;
}
