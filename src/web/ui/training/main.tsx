// /training: what the user's conversations are worth as training data, a job started with its
// estimate shown first, the job followed live, its evaluation against the base, deploy and
// rollback, and the weekly schedule.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { mount } from '../lib/shell';
import { ErrorNote, useLoad } from '../lib/ui';
import { JobHistory } from './history';
import { LiveJob } from './live';
import { DataQuality } from './quality';
import { Schedule } from './schedule';
import { StartJob } from './start';
import { Versions } from './versions';
import { active, sameModel, shortName, type Job, type PersonalModel, type Readiness, type RemoteTrainer, type Settings } from './types';
import './page.css';

function App() {
  const readiness = useLoad(() => get<Readiness>('/api/training/readiness'));
  const settings = useLoad(() => get<Settings>('/api/settings'));
  const models = useLoad(() => get<{ models: PersonalModel[] }>('/api/personal-models'));
  // While a job is queued or running the list changes on its own (status, progress): read it
  // again every few seconds then, and not at all otherwise.
  const [watching, setWatching] = useState(false);
  const jobs = useLoad(() => get<{ jobs: Job[] }>('/api/training/jobs'), [], watching ? 5000 : undefined);
  // No remote trainer set is the usual case; an error here only hides the choice.
  const remote = useLoad(() => get<RemoteTrainer>('/api/training/remote').catch(() => null));
  const [model, setModel] = useState('');
  const [selected, setSelected] = useState<Job | null>(null);
  const [versionsKey, setVersionsKey] = useState(0);

  const installed = (models.data?.models ?? []).filter((m) => m.status === 'installed');
  const names = installed.map((m) => m.custom_name);
  // The first model with enough data, else the first one.
  useEffect(() => {
    if (model && names.includes(model)) return;
    const ready = readiness.data?.models.find((m) => m.ready);
    const pick = ready && names.find((n) => sameModel(n, ready.model));
    if (names.length) setModel(pick ?? names[0]);
  }, [models.data, readiness.data]);
  const jobList = jobs.data?.jobs ?? [];
  // Until the user picks one, the newest job is shown.
  useEffect(() => {
    if (!selected && jobList.length) setSelected(jobList[0]);
    setWatching(jobList.some(active));
  }, [jobs.data]);

  const failure = readiness.error ?? settings.error ?? models.error;
  if (failure) return <main><ErrorNote error={failure} retry={() => { readiness.reload(); settings.reload(); models.reload(); }} /></main>;
  if (!readiness.data || !settings.data || !models.data) return <main><p class="muted">Loading…</p></main>;

  const row = installed.find((m) => m.custom_name === model);
  const changed = () => { jobs.reload(); readiness.reload(); setVersionsKey((n) => n + 1); };
  return (
    <main class="training">
      <h1>Training</h1>
      <DataQuality readiness={readiness.data} settings={settings.data}
                   onSettingsChanged={() => { settings.reload(); readiness.reload(); }} />
      {names.length === 0
        ? <p class="panel muted">No installed model to train: download one in <a href="/personal-models">Personal models</a>.</p>
        : (
          <StartJob models={names} model={model} onModel={setModel}
                    readiness={readiness.data.models.find((m) => sameModel(m.model, model))}
                    remote={remote.data ?? null}
                    busyJob={jobList.find((j) => sameModel(j.model, model) && active(j))}
                    onStarted={(j) => { setSelected(j); jobs.reload(); }} />
        )}
      {selected && <LiveJob key={selected.id} initial={selected} onChanged={changed} />}
      {jobs.error && <ErrorNote error={jobs.error} retry={jobs.reload} />}
      <JobHistory jobs={jobList} selected={selected?.id ?? null} onSelect={setSelected} />
      {row && <Versions modelId={row.id} reloadKey={versionsKey} onChanged={changed} />}
      {row && <Schedule key={row.id} modelId={row.id} model={shortName(row.custom_name)} />}
    </main>
  );
}

mount('training', App,
  'Your conversations, datasets and trained versions stay on this machine, under your account. ' +
  'Training uses only conversations you opted in, and only answers scored above the threshold.');
