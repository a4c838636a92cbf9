// The model's versions: the base (version 0) and each deployed fine-tune, the one served now
// marked, and the one-step rollback.
import { useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { fixed, when } from '../lib/format';
import { ConfirmButton, ErrorNote, useLoad } from '../lib/ui';
import { shortName, type Versions as Answer } from './types';

export function Versions({ modelId, reloadKey, onChanged }: { modelId: number; reloadKey: number; onChanged: () => void }) {
  const list = useLoad(() => get<Answer>(`/api/personal-models/${modelId}/versions`), [modelId, reloadKey]);
  const [error, setError] = useState<unknown>(null);
  const rollback = async () => {
    setError(null);
    try {
      await api('POST', `/api/personal-models/${modelId}/rollback`);
      list.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  if (list.error) return <ErrorNote error={list.error} retry={list.reload} />;
  const v = list.data;
  if (!v) return null;
  const served = v.served_version;
  return (
    <section class="panel" aria-labelledby="versions-title" data-testid="versions">
      <h2 id="versions-title">Versions of {shortName(v.model)}</h2>
      <p>Serving <strong data-testid="served-version">{served === 0 ? 'the base model (version 0)' : `version ${served}`}</strong>.</p>
      <table aria-label={`Versions of ${v.model}`}>
        <thead><tr><th>Version</th><th>From job</th><th>Held-out loss</th><th>Made</th><th></th></tr></thead>
        <tbody>
          <tr class={served === 0 ? 'serving' : ''}><td>0 (base)</td><td>–</td><td>–</td><td>–</td>
            <td>{served === 0 && <span class="badge good">serving</span>}</td></tr>
          {v.versions.map((x) => (
            <tr class={x.serving ? 'serving' : ''}>
              <td>{x.version}</td>
              <td>{x.job_id !== null ? `#${x.job_id}` : '–'}</td>
              <td>{fixed(x.eval?.tuned?.loss ?? x.eval?.final_validation_loss, 4)}</td>
              <td>{when(x.created_at)}</td>
              <td>{x.serving && <span class="badge good">serving</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {served > 0 && (
        <p>
          <ConfirmButton onConfirm={rollback} label="Roll back"
                         question={`Serve the version before ${served} again?`}>Roll back</ConfirmButton>
        </p>
      )}
      {error !== null && <ErrorNote error={error} />}
    </section>
  );
}
