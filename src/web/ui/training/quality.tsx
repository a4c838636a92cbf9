// Data quality: what of the user's conversations training would learn from, model by model,
// the opt-in that decides whether any of it counts, and the export of it as files.
import { useEffect, useState } from 'preact/hooks';
import { api, get, send } from '../lib/api';
import { count, when } from '../lib/format';
import { ErrorNote, ProgressBar, useLoad } from '../lib/ui';
import { ScoreHistogram } from './histogram';
import { shortName, type Dataset, type Readiness, type Settings } from './types';

function OptIn({ settings, onChanged }: { settings: Settings; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // Shown at once; back to the stored value when the server refuses.
  const [on, setOn] = useState(settings.training_opt_in);
  useEffect(() => setOn(settings.training_opt_in), [settings.training_opt_in]);
  const change = async (want: boolean) => {
    setBusy(true);
    setError(null);
    setOn(want);
    try {
      await api('PUT', '/api/settings', { training_opt_in: want });
      onChanged();
    } catch (e) {
      setOn(settings.training_opt_in);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="opt-in">
      <input id="training-opt-in" type="checkbox" checked={on} disabled={busy}
             onChange={(e) => change(e.currentTarget.checked)} />
      <label for="training-opt-in">Use my kept conversations to train my personal models</label>
      <p class="hint">
        {on
          ? 'On: a conversation counts unless you switched it off in Chat. '
          : 'Off: no conversation counts, except those you switched on one by one in Chat. '}
        Only answers scored above the threshold are learned from (a thumbs up, a rating of 4 or 5,
        or your correction).{!settings.store_conversations && ' Keeping conversations is off, so new chats add nothing.'}
      </p>
      {error !== null && <ErrorNote error={error} />}
    </div>
  );
}

// A dataset file, fetched with the token (a plain link would go without it) and saved.
async function download(url: string, name: string) {
  const response = await send('GET', url);
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function Datasets({ reloadKey }: { reloadKey: number }) {
  const list = useLoad(() => get<{ datasets: Dataset[] }>('/api/training/datasets'), [reloadKey]);
  const [error, setError] = useState<unknown>(null);
  if (list.error) return <ErrorNote error={list.error} retry={list.reload} />;
  const rows = list.data?.datasets ?? [];
  if (!rows.length) return <p class="muted">No exported datasets yet.</p>;
  const save = (url: string, name: string) => { setError(null); download(url, name).catch(setError); };
  return (
    <>
      <table class="datasets" aria-label="Exported datasets">
        <thead><tr><th>Dataset</th><th>Made</th><th>Training examples</th><th>Held-out examples</th><th>Files</th></tr></thead>
        <tbody>
          {rows.map((d) => (
            <tr data-testid={`dataset-${d.id}`}>
              <td>#{d.id}</td>
              <td>{when(d.created_at)}</td>
              <td>{count(d.train_examples)}</td>
              <td>{count(d.validation_examples)}</td>
              <td class="files">
                <button type="button" class="link" aria-label={`Download training file of dataset ${d.id}`}
                        onClick={() => save(d.train_url, `dataset-${d.id}-train.jsonl`)}>train.jsonl</button>
                {d.validation_url && (
                  <button type="button" class="link" aria-label={`Download held-out file of dataset ${d.id}`}
                          onClick={() => save(d.validation_url!, `dataset-${d.id}-validation.jsonl`)}>validation.jsonl</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error !== null && <ErrorNote error={error} />}
    </>
  );
}

function Export() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [reloadKey, setReloadKey] = useState(0);
  const run = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const r = await api<{ dataset_version_id: number; train_examples: number; validation_examples: number }>(
        'POST', '/api/training/export-data', {});
      setDone(`Dataset #${r.dataset_version_id}: ${count(r.train_examples)} training and ${count(r.validation_examples)} held-out examples.`);
      setReloadKey((n) => n + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="export">
      <h3>Export</h3>
      <p class="hint">Writes the qualifying conversations as JSONL files (OpenAI's chat fine-tuning format) on
        this machine, under your account; download them here. Nothing is sent anywhere.</p>
      <button type="button" onClick={run} disabled={busy}>{busy ? 'Exporting…' : 'Export training data'}</button>
      {done && <p role="status">{done}</p>}
      {error !== null && <ErrorNote error={error} />}
      <Datasets reloadKey={reloadKey} />
    </div>
  );
}

export function DataQuality({ readiness, settings, onSettingsChanged }: {
  readiness: Readiness; settings: Settings; onSettingsChanged: () => void;
}) {
  const threshold = readiness.min_score;
  return (
    <section class="panel" aria-labelledby="quality-title">
      <h2 id="quality-title">Your training data</h2>
      <dl class="figures">
        <div><dt>Kept conversations</dt><dd data-testid="conversations">{count(readiness.conversations)}</dd></div>
        <div><dt>Rated answers</dt><dd data-testid="rated">{count(readiness.rated)}</dd></div>
        <div><dt>Qualifying score</dt><dd>above {threshold}</dd></div>
      </dl>
      <OptIn settings={settings} onChanged={onSettingsChanged} />
      {/* The server's message names its API; the page says it in the box's words. */}
      {!readiness.opted_in && (
        <p class="warn" role="status">You have not opted in: training cannot start, and only conversations you switched
          on one by one in Chat count. Tick the box above to use your kept conversations.</p>
      )}
      {readiness.models.length === 0
        ? <p class="muted">No conversations with a model yet: chat in <a href="/chat">Chat</a> and rate the answers.</p>
        : (
          <table class="quality" aria-label="Training data by model">
            <thead>
              <tr><th>Model</th><th>Conversations</th><th>Rated</th><th>Qualifying examples</th><th>Score distribution</th></tr>
            </thead>
            <tbody>
              {readiness.models.map((m) => (
                <tr data-testid={`quality-${shortName(m.model)}`}>
                  <td>{shortName(m.model)}</td>
                  <td data-testid="model-conversations">{count(m.conversations)}</td>
                  <td data-testid="model-rated">{count(m.rated)}</td>
                  <td class="qualifying">
                    <span data-testid="qualifying">{count(m.qualifying_examples)}</span> of {count(m.needed)} needed{' '}
                    {m.ready ? <span class="badge good">ready</span> : <span class="badge muted">not yet</span>}
                    <ProgressBar value={m.qualifying_examples} max={m.needed}
                                 label={`${m.model}: ${m.qualifying_examples} of ${m.needed} qualifying examples`} />
                  </td>
                  <td><ScoreHistogram counts={m.histogram} threshold={threshold} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      <Export />
    </section>
  );
}
