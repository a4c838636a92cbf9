// The caller's models: name (renamed in place), status, size, how much they were used and how
// fast, their versions, and delete. Failed downloads stay listed with the reason until removed.
import { useState } from 'preact/hooks';
import { bytes, count, fixed, when } from '../lib/format';
import { ConfirmButton, ErrorNote } from '../lib/ui';
import { removeModel, startDownload, totalBytes } from './download_api';
import { RenameInPlace } from './rename';
import { canDownloadAgain, sourceOf } from './source';
import type { PersonalModel } from './types';
import { VersionList } from './versions';

function Usage({ model }: { model: PersonalModel }) {
  const u = model.usage;
  return (
    <dl class="figures" aria-label={`Usage of ${model.custom_name}`}>
      <div><dt>Requests</dt><dd data-testid="usage-requests">{count(u.requests)}</dd></div>
      <div><dt>Tokens in</dt><dd>{count(u.prompt_tokens)}</dd></div>
      <div><dt>Tokens out</dt><dd data-testid="usage-tokens">{count(u.completion_tokens)}</dd></div>
      <div><dt>Average speed</dt>
        <dd>{u.average_tokens_per_second === null ? '–' : `${fixed(u.average_tokens_per_second, 1)} tokens/s`}</dd></div>
      <div><dt>Measured after download</dt>
        <dd>{model.performance_score === null ? '–' : `${fixed(model.performance_score, 0)} tokens/s`}</dd></div>
    </dl>
  );
}

function ModelCard({ model, onChanged }: { model: PersonalModel; onChanged: () => void }) {
  const [showVersions, setShowVersions] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const failed = model.status === 'failed';
  const versionsId = `versions-${model.id}`;
  const act = (work: Promise<unknown>) => work.then(() => { setError(null); onChanged(); }, setError);
  return (
    <li class="model panel" data-testid="installed-model" data-model-id={model.id}>
      <div class="model-head">
        <RenameInPlace model={model} onRenamed={onChanged} />
        <span class={`badge ${failed ? 'bad' : 'good'}`}>{failed ? 'download failed' : model.status}</span>
        {model.fine_tune_version > 0
          ? <span class="badge">fine-tuned · version {model.fine_tune_version}</span>
          : <span class="badge muted">base model</span>}
        <span class="spacer" />
        {failed && canDownloadAgain(model.model_id) && (
          <button type="button" onClick={() => void act(startDownload({ model_id: model.model_id, custom_name: model.custom_name }))}>
            Try again
          </button>
        )}
        <ConfirmButton label={`Delete ${model.custom_name}`}
                       question={`Delete ${model.custom_name} and its fine-tuned versions from this machine?`}
                       onConfirm={() => void act(removeModel(model.id))}>
          Delete
        </ConfirmButton>
      </div>
      {failed && model.error && <ErrorNote error={model.error} />}
      <p class="model-facts muted">
        <span>{totalBytes(model) > 0 ? bytes(totalBytes(model)) : 'size unknown'}</span>
        <span>from {sourceOf(model.model_id)}</span>
        <span>added {when(model.created_at)}</span>
        {model.last_training_date && <span>last trained {when(model.last_training_date)}</span>}
      </p>
      {!failed && <Usage model={model} />}
      {!failed && (
        <>
          <button type="button" class="link" aria-expanded={showVersions} aria-controls={versionsId}
                  onClick={() => setShowVersions((v) => !v)}>
            {showVersions ? 'Hide versions' : 'Versions'}
          </button>
          <div id={versionsId}>
            {showVersions && <VersionList model={model} onChanged={onChanged} />}
          </div>
        </>
      )}
      {error !== null && <ErrorNote error={error} />}
    </li>
  );
}

export function InstalledModels({ models, onChanged }: { models: PersonalModel[]; onChanged: () => void }) {
  return (
    <section aria-labelledby="installed-title">
      <h2 id="installed-title">Your models</h2>
      <p class="hint">Stored in this server's model folder (HEARTH_HOME) on this machine. Chats with them,
        their usage figures and the versions trained from your feedback stay here too.</p>
      {models.length === 0
        ? <p class="muted" data-testid="no-models">No models yet: download one from the catalog below or from an address.</p>
        : <ul class="models">{models.map((m) => <ModelCard key={m.id} model={m} onChanged={onChanged} />)}</ul>}
    </section>
  );
}
