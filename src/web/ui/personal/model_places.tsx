// Where each of the caller's models runs: this server, one of their desktops, or a remote engine.
// A model found in several places gets one row that names them all, in the hub's order.
import { bytes } from '../lib/format';
import { placeOf, type PlacedModel } from './desktop_types';

interface Row { name: string; places: string[]; size: number | null }

function rowsOf(models: PlacedModel[]): Row[] {
  const rows = new Map<string, Row>();
  for (const m of models) {
    const row = rows.get(m.name) ?? { name: m.name, places: [], size: null };
    const place = placeOf(m);
    if (!row.places.includes(place)) row.places.push(place);
    if (row.size === null && m.size) row.size = m.size;
    rows.set(m.name, row);
  }
  return [...rows.values()];
}

export function ModelPlaces({ models }: { models: PlacedModel[] }) {
  const rows = rowsOf(models);
  return (
    <section aria-labelledby="places-title">
      <h3 id="places-title">Where your models run</h3>
      {rows.length === 0
        ? <p class="muted small">No models anywhere yet.</p>
        : (
          <table class="places">
            <thead><tr><th scope="col">Model</th><th scope="col">Runs on</th><th scope="col">Size</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.name} data-testid="model-place" data-model={r.name}>
                  <td><code>{r.name}</code></td>
                  <td data-testid="model-where">{r.places.join(', ')}</td>
                  <td>{r.size ? bytes(r.size) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
  );
}
