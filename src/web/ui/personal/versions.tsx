// A model's versions: the base it was downloaded as and every fine-tuned version deployed on
// top of it, the served one marked "current", and a step back to the version before it.
import { useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { fixed, when } from '../lib/format';
import { ConfirmButton, ErrorNote, useLoad } from '../lib/ui';
import type { ModelVersion, PersonalModel, Versions } from './types';

interface Row {
  version: number;
  label: string;
  detail: string;
  created: string | null;
  previous: number | null;
}

function versionName(v: number): string {
  return v === 0 ? 'the base model' : `version ${v}`;
}

// The evaluation gate's figures (loop/evaluation.cpp): held-out loss of the base and the tuned
// model; lower is better.
function lossOf(figures: unknown): number | null {
  if (figures && typeof figures === 'object' && 'loss' in figures) {
    const loss = (figures as { loss: unknown }).loss;
    if (typeof loss === 'number') return loss;
  }
  return null;
}

function evalSummary(v: ModelVersion): string {
  const e = v.eval ?? {};
  const base = lossOf(e.base);
  const tuned = lossOf(e.tuned);
  if (base === null || tuned === null) return '';
  return `held-out loss ${fixed(base, 3)} (base) → ${fixed(tuned, 3)}`;
}

// The base is not stored as a version (the server counts it as version 0): the list adds it.
function rowsOf(answer: Versions, model: PersonalModel): Row[] {
  const rows: Row[] = answer.versions
    .slice()
    .sort((a, b) => b.version - a.version)
    .map((v) => ({
      version: v.version,
      label: `Version ${v.version}`,
      detail: [v.job_id !== null ? `fine-tuned by training job ${v.job_id}` : 'fine-tuned',
               v.remote_model ? `served by ${v.remote_model}` : '', evalSummary(v)].filter(Boolean).join(' · '),
      created: v.created_at,
      previous: v.previous_version,
    }));
  rows.push({ version: 0, label: 'Base', detail: `as downloaded (${model.model_id})`, created: model.created_at, previous: null });
  return rows;
}

export function VersionList({ model, onChanged }: { model: PersonalModel; onChanged: () => void }) {
  const versions = useLoad(() => get<Versions>(`/api/personal-models/${model.id}/versions`), [model.id, model.fine_tune_version]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (versions.error) return <ErrorNote error={versions.error} retry={versions.reload} />;
  if (!versions.data) return <p class="muted">Loading versions…</p>;
  const served = versions.data.served_version;
  const rollback = async () => {
    setBusy(true);
    try {
      await api('POST', `/api/personal-models/${model.id}/rollback`, {});
      setError(null);
      versions.reload();
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="versions">
      <table aria-label={`Versions of ${model.custom_name}`}>
        <thead><tr><th scope="col">Version</th><th scope="col">What it is</th><th scope="col">Made</th><th scope="col" /></tr></thead>
        <tbody>
          {rowsOf(versions.data, model).map((row) => (
            <tr key={row.version} data-testid="version" aria-current={row.version === served ? 'true' : undefined}>
              <td>{row.label} {row.version === served && <span class="badge good">current</span>}</td>
              <td>{row.detail}</td>
              <td>{when(row.created)}</td>
              <td>
                {row.version === served && row.previous !== null && (
                  <ConfirmButton label={`Roll ${model.custom_name} back to ${versionName(row.previous)}`}
                                 question={`Serve ${versionName(row.previous)} again?`}
                                 onConfirm={() => void rollback()}>
                    {busy ? 'Rolling back…' : `Roll back to ${versionName(row.previous)}`}
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {served === 0 && !versions.data.versions.length && (
        <p class="hint">No fine-tuned version yet: rate answers in the chat and train one on the
          Training page. Training runs on this machine and keeps the base model, so you can always come back to it.</p>
      )}
      {error !== null && <ErrorNote error={error} />}
    </div>
  );
}
