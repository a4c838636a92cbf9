// The weekly schedule: a window of the user's week (in their time zone) in which hearth trains
// the model on the conversations kept since the last run, when there are enough of them.
import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { when } from '../lib/format';
import { ErrorNote, useLoad } from '../lib/ui';
import type { Schedule as Answer } from './types';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface Form { days: string[]; start: string; end: string; zone: string; enabled: boolean }

// "sun,wed 23:30-01:30" / "daily 02:00-05:00" (loop/weekly_window.h) into the form's fields.
function readWindow(s: Answer | null): Form {
  const zone = s?.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const m = /^(\S+)\s+(\d\d:\d\d)-(\d\d:\d\d)$/.exec(s?.window ?? '');
  if (!m) return { days: ['sun'], start: '02:00', end: '06:00', zone, enabled: true };
  const days = m[1] === 'daily' ? [...DAYS] : m[1].split(',').map((d) => d.slice(0, 3).toLowerCase());
  return { days, start: m[2], end: m[3], zone, enabled: s?.enabled ?? true };
}

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC'];
}

export function Schedule({ modelId, model }: { modelId: number; model: string }) {
  const current = useLoad(() => get<Answer>(`/api/personal-models/${modelId}/schedule`), [modelId]);
  const [form, setForm] = useState<Form>(readWindow(null));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => { if (current.data) setForm(readWindow(current.data.window ? current.data : null)); }, [current.data]);

  const save = async () => {
    setError(null);
    setSaved(null);
    if (!form.days.length) { setError('Pick at least one day.'); return; }
    const days = form.days.length === 7 ? 'daily' : DAYS.filter((d) => form.days.includes(d)).join(',');
    try {
      await api('PUT', `/api/personal-models/${modelId}/schedule`,
                { enabled: form.enabled, window: `${days} ${form.start}-${form.end}`, time_zone: form.zone });
      setSaved('Saved.');
      current.reload();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async () => {
    setError(null);
    try {
      await api('DELETE', `/api/personal-models/${modelId}/schedule`);
      setSaved('Removed: no scheduled training.');
      current.reload();
    } catch (e) {
      setError(e);
    }
  };
  if (current.error) return <ErrorNote error={current.error} retry={current.reload} />;
  const s = current.data;
  const toggleDay = (d: string, on: boolean) =>
    setForm({ ...form, days: on ? [...form.days, d] : form.days.filter((x) => x !== d) });
  return (
    <section class="panel" aria-labelledby="schedule-title">
      <h2 id="schedule-title">Weekly training of {model}</h2>
      <p class="hint">In this window, hearth trains {model} on this machine with the conversations kept since its last
        run (when there are enough), and deploys the result only when the evaluation finds it better.</p>
      <p data-testid="schedule-state">
        {s?.enabled && s.window
          ? <>On: {s.window} ({s.time_zone}). Next window: {s.next_window ? `${when(s.next_window.start)} to ${when(s.next_window.end)}` : '–'}.</>
          : 'Off.'}
        {s?.last_outcome && <> Last run: {s.last_outcome}.</>}
      </p>
      <fieldset class="days">
        <legend>Days the window starts on</legend>
        {DAYS.map((d, i) => (
          <label><input type="checkbox" checked={form.days.includes(d)}
                        onChange={(e) => toggleDay(d, e.currentTarget.checked)} /> {DAY_NAMES[i]}</label>
        ))}
      </fieldset>
      <div class="start-grid">
        <div class="field"><label for="window-start">From</label>
          <input id="window-start" type="time" value={form.start} onInput={(e) => setForm({ ...form, start: e.currentTarget.value })} /></div>
        <div class="field"><label for="window-end">Until</label>
          <input id="window-end" type="time" value={form.end} onInput={(e) => setForm({ ...form, end: e.currentTarget.value })} /></div>
        <div class="field"><label for="window-zone">Time zone</label>
          <input id="window-zone" list="time-zones" value={form.zone} onInput={(e) => setForm({ ...form, zone: e.currentTarget.value })} />
          <datalist id="time-zones">{zones().map((z) => <option value={z} />)}</datalist></div>
        <div class="field checkbox">
          <input id="window-enabled" type="checkbox" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} />
          <label for="window-enabled">Enabled</label></div>
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={save}>Save schedule</button>
        {s?.window && <button type="button" onClick={remove}>Remove schedule</button>}
        {saved && <span role="status">{saved}</span>}
      </div>
      {error !== null && <ErrorNote error={error} />}
    </section>
  );
}
