// Choosing the model that answers: the caller's installed models, and for a personal model that
// has been fine-tuned each of its versions ("name@vN": v0 is the base). Only the chosen name is
// remembered in this browser (localStorage), so the next visit starts with it.
import { useEffect } from 'preact/hooks';
import { get } from '../lib/api';
import { ErrorNote, useLoad } from '../lib/ui';

const MODEL_KEY = 'hearth.chat.model';

interface Tag { name: string }
interface PersonalModel { id: number; custom_name: string; status: string; fine_tuned: boolean; fine_tune_version: number }
interface Version { version: number; serving: boolean; job_id: number | null }

export interface ModelChoice {
  name: string;   // what the chat request names
  label: string;
}

export interface ModelGroup {
  label: string;
  choices: ModelChoice[];
}

async function loadChoices(): Promise<ModelGroup[]> {
  const [tags, personal] = await Promise.all([
    get<{ models: Tag[] }>('/api/tags'),
    // Fine-tuned versions are an extra: the installed models are enough to chat.
    get<{ models: PersonalModel[] }>('/api/personal-models').catch(() => ({ models: [] as PersonalModel[] })),
  ]);
  const groups: ModelGroup[] = [{
    label: 'Installed models',
    choices: tags.models.map((t) => ({ name: t.name, label: t.name.replace(/:latest$/, '') })),
  }];
  const rows = personal.models;
  // Versions matter only once a model has been fine-tuned; a version list that cannot be read
  // leaves the model choosable by its name alone.
  const tuned = rows.filter((r) => r.fine_tuned || r.fine_tune_version > 0);
  const lists = await Promise.all(tuned.map((r) =>
    get<{ versions: Version[] }>(`/api/personal-models/${r.id}/versions`).catch(() => null)));
  tuned.forEach((row, i) => {
    const versions = lists[i]?.versions;
    if (!versions?.length) return;
    groups.push({
      label: `Versions of ${row.custom_name}`,
      choices: versions.map((v) => ({
        name: `${row.custom_name}@v${v.version}`,
        label: `${row.custom_name} v${v.version} · ${v.version === 0 ? 'base' : `fine-tuned (job ${v.job_id ?? '?'})`}${v.serving ? ' · serving' : ''}`,
      })),
    });
  });
  return groups;
}

export function rememberedModel(): string | null {
  return localStorage.getItem(MODEL_KEY);
}

export function ModelPicker({ value, onChange, disabled }: {
  value: string | null; onChange: (name: string) => void; disabled: boolean;
}) {
  const choices = useLoad(loadChoices);
  const all = choices.data?.flatMap((g) => g.choices) ?? [];
  // The remembered model may be gone (deleted, renamed): fall back to the first one.
  useEffect(() => {
    if (!choices.data) return;
    if (!value || !all.some((c) => c.name === value)) {
      const first = all[0]?.name;
      if (first) onChange(first);
    }
  }, [choices.data]);
  if (choices.error) return <ErrorNote error={choices.error} retry={choices.reload} />;
  if (choices.data && !all.length) {
    return <p class="muted">No model is installed yet: get one on <a href="/personal-models">Personal models</a>.</p>;
  }
  const known = all.some((c) => c.name === value);
  return (
    <span class="model-picker">
      <label for="chat-model">Model</label>
      <select id="chat-model" value={value ?? ''} disabled={disabled || !choices.data}
              onChange={(e) => {
                const name = e.currentTarget.value;
                localStorage.setItem(MODEL_KEY, name);
                onChange(name);
              }}>
        {!known && value && <option value={value}>{value}</option>}
        {choices.data?.map((g) => (
          <optgroup label={g.label}>
            {g.choices.map((c) => <option value={c.name}>{c.label}</option>)}
          </optgroup>
        ))}
      </select>
    </span>
  );
}
