// Choosing the model that answers: the caller's installed models, and for a personal model that
// has been fine-tuned each of its versions ("name@vN": v0 is the base). Only the chosen name is
// remembered in this browser (localStorage), per user: people who share a browser each find
// their own choice, and a name is offered only when it is in the caller's own list.
import { useEffect } from 'preact/hooks';
import { get } from '../lib/api';
import { ErrorNote, useLoad } from '../lib/ui';

function modelKey(username: string): string {
  return `hearth.chat.model:${username}`;
}

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

// The picker starts empty; once the caller's list is known it chooses the remembered model when
// it is in that list (it may be gone: deleted, renamed), else the first one.
export function ModelPicker({ username, value, onChoose, onChange, disabled }: {
  username: string; value: string | null; disabled: boolean;
  onChoose: (name: string) => void;   // the page's own choice, on loading
  onChange: (name: string) => void;   // the user's choice
}) {
  const choices = useLoad(loadChoices);
  const all = choices.data?.flatMap((g) => g.choices) ?? [];
  useEffect(() => {
    if (!choices.data || value) return;
    const remembered = localStorage.getItem(modelKey(username));
    const pick = all.find((c) => c.name === remembered)?.name ?? all[0]?.name;
    if (pick) onChoose(pick);
  }, [choices.data]);
  if (choices.error) return <ErrorNote error={choices.error} retry={choices.reload} />;
  if (choices.data && !all.length) {
    return <p class="muted">No model is installed yet: get one on <a href="/personal-models">Personal models</a>.</p>;
  }
  // A kept conversation may be with a model that is no longer in the list: it is still named,
  // since that is the model the conversation goes on with.
  const known = all.some((c) => c.name === value);
  return (
    <span class="model-picker">
      <label for="chat-model">Model</label>
      <select id="chat-model" value={value ?? ''} disabled={disabled || !choices.data} aria-describedby="chat-model-hint"
              onChange={(e) => {
                const name = e.currentTarget.value;
                localStorage.setItem(modelKey(username), name);
                onChange(name);
              }}>
        {!value && <option value="" disabled>{choices.data ? 'Choose a model' : 'Loading models…'}</option>}
        {choices.data && !known && value && <option value={value}>{value}</option>}
        {choices.data?.map((g) => (
          <optgroup label={g.label}>
            {g.choices.map((c) => <option value={c.name}>{c.label}</option>)}
          </optgroup>
        ))}
      </select>
      <span id="chat-model-hint" class="hint">Changing the model starts a new chat.</span>
    </span>
  );
}
