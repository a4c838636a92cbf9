// /personal-models: the caller's models (downloads in progress, installed ones with their usage
// and versions), their desktops (connected agents, live figures, where each model runs), then
// the catalog with this machine's fit verdicts.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { mount, type Me } from '../lib/shell';
import { ErrorNote, useLoad } from '../lib/ui';
import { AddressForm } from './address_form';
import { CatalogSection } from './catalog';
import { DesktopsSection } from './desktops';
import { Downloads } from './downloads';
import { InstalledModels } from './installed';
import { isUnfinished, type PersonalModel } from './types';
import './page.css';

// While something downloads the list is read every second (the server records progress about
// once a second); otherwise only after a change made here.
const POLL_MS = 1000;

// What became of the download started from this page, said where a screen reader hears it.
function startedNote(name: string, models: PersonalModel[]): string {
  const row = models.find((m) => m.custom_name === name);
  if (!row || isUnfinished(row)) return `Downloading ${name}: follow it below.`;
  if (row.status === 'installed') return `${name} is installed: pick it on the Chat page.`;
  return `The download of ${name} failed: the reason is shown with it below.`;
}

function App({ me }: { me: Me }) {
  const rows = useLoad(() => get<{ models: PersonalModel[] }>('/api/personal-models').then((a) => a.models));
  const [started, setStarted] = useState<string | null>(null);
  const models = rows.data ?? [];
  const downloading = useMemo(() => models.filter(isUnfinished), [models]);
  const kept = useMemo(() => models.filter((m) => !isUnfinished(m)), [models]);
  const busy = downloading.length > 0;

  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(rows.reload, POLL_MS);
    return () => clearInterval(timer);
  }, [busy, rows.reload]);

  // The catalog's "installed" marks change when a download ends or a model is deleted.
  const installedKey = kept.filter((m) => m.status === 'installed').map((m) => m.id).join(',');
  const onStarted = (name: string) => { setStarted(name); rows.reload(); };

  return (
    <main class="personal">
      <h1>Personal models</h1>
      {started && <p class="notice" role="status">{startedNote(started, models)}</p>}
      {rows.error !== null && <ErrorNote error={rows.error} retry={rows.reload} />}
      {rows.data && (
        <>
          <Downloads models={downloading} onChanged={rows.reload} />
          <InstalledModels models={kept} onChanged={rows.reload} />
        </>
      )}
      {!rows.data && rows.error === null && <p class="muted">Reading your models…</p>}
      <DesktopsSection me={me} />
      <AddressForm onStarted={onStarted} />
      {/* The catalog waits for the installed list, so that it is asked for once, already marked. */}
      {(rows.data || rows.error !== null) && <CatalogSection onStarted={onStarted} installedKey={installedKey} />}
    </main>
  );
}

mount('personal-models', App,
  <>Models are downloaded from the source shown (Hugging Face, or the address you give) to this machine and
    stored in hearth's folder here; nothing you type into them, their usage or their training leaves this machine.
    A chat with a model of one of your connected desktops runs on that desktop.</>);
