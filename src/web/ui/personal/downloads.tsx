// Downloads in progress: a live bar with bytes, speed and time left, and a way to stop them.
// The list comes from the server, so a reloaded page finds its downloads again.
import { useRef, useState } from 'preact/hooks';
import { bytes, duration, fixed } from '../lib/format';
import { ConfirmButton, ErrorNote, ProgressBar } from '../lib/ui';
import { removeModel, totalBytes } from './download_api';
import { RateTracker, type Rate } from './rates';
import { sourceOf } from './source';
import type { PersonalModel } from './types';

const STATUS_TEXT: Record<string, string> = {
  pending: 'Starting…',
  downloading: 'Downloading',
  verifying: 'Checking the file…',
};

function amount(m: PersonalModel): string {
  const total = totalBytes(m);
  const percent = `${fixed(m.download_progress, 0)} %`;
  if (total <= 0) return `${percent} (size not known yet)`;
  return `${bytes((m.download_progress / 100) * total)} of ${bytes(total)} · ${percent}`;
}

function pace(rate: Rate): string {
  if (rate.percentPerSecond === null) return 'measuring speed…';
  if (rate.percentPerSecond === 0) return 'waiting for data…';
  const speed = rate.bytesPerSecond !== null ? `${bytes(rate.bytesPerSecond)}/s` : `${fixed(rate.percentPerSecond, 1)} %/s`;
  return `${speed} · about ${duration(rate.secondsLeft)} left`;
}

function Download({ model, rate, onChanged }: { model: PersonalModel; rate: Rate; onChanged: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const source = sourceOf(model.model_id);
  return (
    <li class="download panel" data-testid="download" aria-label={`Download of ${model.custom_name}`}>
      <div class="download-head">
        <strong>{model.custom_name}</strong>
        <span class="badge">{STATUS_TEXT[model.status] ?? model.status}</span>
        <span class="muted">from {source}</span>
        <span class="spacer" />
        <ConfirmButton label={`Cancel the download of ${model.custom_name}`}
                       question="Stop and throw away what was downloaded?"
                       onConfirm={() => { removeModel(model.id).then(onChanged, setError); }}>
          Cancel
        </ConfirmButton>
      </div>
      <ProgressBar value={model.download_progress} max={100} label={`${model.custom_name} downloaded`} />
      <p class="download-figures">
        <span data-testid="download-amount">{amount(model)}</span>
        {model.status === 'downloading' && <span data-testid="download-pace">{pace(rate)}</span>}
      </p>
      {error !== null && <ErrorNote error={error} />}
    </li>
  );
}

export function Downloads({ models, onChanged }: { models: PersonalModel[]; onChanged: () => void }) {
  const tracker = useRef(new RateTracker());
  const seen = useRef<PersonalModel[] | null>(null);
  // One sample per answer of the server (not per render).
  if (seen.current !== models) {
    seen.current = models;
    tracker.current.observe(new Map(models.map((m) => [m.id, m.download_progress])), Date.now());
  }
  if (!models.length) return null;
  return (
    <section aria-labelledby="downloads-title">
      <h2 id="downloads-title">Downloading</h2>
      <p class="hint">Downloads run inside hearth on this machine: you can close or reload this page and
        they go on. Each file comes straight from the address shown to this machine.</p>
      <ul class="downloads">
        {models.map((m) => (
          <Download key={m.id} model={m} rate={tracker.current.rate(m.id, totalBytes(m))} onChanged={onChanged} />
        ))}
      </ul>
    </section>
  );
}
