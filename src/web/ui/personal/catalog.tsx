// The catalog: every model hearth knows, with this machine's verdict and the reasons for it,
// searchable and filtered; a variant can be downloaded from its card.
import { useMemo, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { bytes, count } from '../lib/format';
import { ConfirmButton, ErrorNote, useLoad } from '../lib/ui';
import { startDownload } from './download_api';
import { FitBadge, verdictRank } from './fit';
import { MachineSummary } from './hardware';
import type { Catalog, CatalogModel } from './types';

const CONTEXTS = [2048, 4096, 8192, 16384, 32768, 131072];

function billions(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} B parameters` : `${(n / 1e6).toFixed(0)} M parameters`;
}

function CatalogCard({ model, onStarted }: { model: CatalogModel; onStarted: (name: string) => void }) {
  const [tag, setTag] = useState(model.tag);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const variant = model.variants.find((v) => v.tag === tag) ?? model.variants[0];
  const selectId = `variant-${model.id}`;
  const download = (force: boolean) => {
    setStarting(true);
    startDownload({ model_id: `${model.id}:${tag}`, force })
      .then((row) => { setError(null); onStarted(row.custom_name); }, setError)
      .finally(() => setStarting(false));
  };
  return (
    <li class="catalog-card panel" data-testid="catalog-model" data-id={model.id} aria-labelledby={`title-${model.id}`}>
      <div class="catalog-head">
        <h3 id={`title-${model.id}`}>{model.name}</h3>
        <FitBadge verdict={model.verdict} />
        {model.installed && <span class="badge good">installed</span>}
        {model.starter && <span class="badge">starter</span>}
      </div>
      <p class="muted small"><code>{model.id}</code> · {model.specialty}</p>
      <p>{model.description}</p>
      <ul class="reasons" aria-label={`Why: ${model.name}`}>
        {model.reasons.map((r) => <li data-testid="fit-reason">{r}</li>)}
      </ul>
      <p class="muted small">
        {billions(model.parameters)} · needs about {bytes(model.memory_bytes)} of memory at {count(model.context_assumed)} tokens of context
        · good for {model.use_cases.join(', ')} · {model.license}
      </p>
      <div class="catalog-actions">
        <label for={selectId}>Variant</label>
        <select id={selectId} value={tag} onChange={(e) => setTag(e.currentTarget.value)}>
          {model.variants.map((v) => (
            <option value={v.tag}>{v.quantization} · {v.size_estimated ? 'about ' : ''}{bytes(v.size_bytes)}</option>
          ))}
        </select>
        {model.fits
          ? <button type="button" class="primary" disabled={starting} aria-label={`Download ${model.name}`}
                    onClick={() => download(false)}>Download {variant ? bytes(variant.size_bytes) : ''}</button>
          : <ConfirmButton label={`Download ${model.name} anyway`}
                           question="This machine looks too small for it: download anyway?"
                           onConfirm={() => download(true)}>Download anyway</ConfirmButton>}
      </div>
      {error !== null && <ErrorNote error={error} />}
    </li>
  );
}

function matches(m: CatalogModel, words: string[]): boolean {
  const text = [m.id, m.name, m.description, m.specialty, m.architecture, ...m.use_cases].join(' ').toLowerCase();
  return words.every((w) => text.includes(w));
}

export function CatalogSection({ onStarted, installedKey }: { onStarted: (name: string) => void; installedKey: string }) {
  const [ctx, setCtx] = useState(8192);
  const catalog = useLoad(() => get<Catalog>(`/api/catalog?ctx=${ctx}`), [ctx, installedKey]);
  const [search, setSearch] = useState('');
  const [fit, setFit] = useState('all');
  const [useCase, setUseCase] = useState('');

  const shown = useMemo(() => {
    const all = catalog.data?.models ?? [];
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    return all
      .filter((m) => matches(m, words))
      .filter((m) => fit === 'all' || (fit === 'fits' ? m.fits : !m.fits))
      .filter((m) => !useCase || m.use_cases.includes(useCase))
      .sort((a, b) => verdictRank(a.verdict) - verdictRank(b.verdict) || b.quality - a.quality);
  }, [catalog.data, search, fit, useCase]);

  const useCases = useMemo(() => [...new Set((catalog.data?.models ?? []).flatMap((m) => m.use_cases))].sort(), [catalog.data]);
  const picks = (catalog.data?.recommendations ?? []).filter((r) => r.model);

  return (
    <>
      {catalog.data && <MachineSummary machine={catalog.data.machine} />}
      <section aria-labelledby="catalog-title">
        <h2 id="catalog-title">Catalog</h2>
        <p class="hint">Catalog models download from Hugging Face straight to this machine; after that they
          run here and nothing you type into them leaves it.</p>
        <div class="filters" role="search">
          <label for="catalog-search">Search</label>
          <input id="catalog-search" type="search" value={search} placeholder="name, use, architecture…"
                 onInput={(e) => setSearch(e.currentTarget.value)} />
          <label for="catalog-fit">Show</label>
          <select id="catalog-fit" value={fit} onChange={(e) => setFit(e.currentTarget.value)}>
            <option value="fits">Models that fit this machine</option>
            <option value="too-big">Models too big for it</option>
            <option value="all">All models</option>
          </select>
          <label for="catalog-use">Good for</label>
          <select id="catalog-use" value={useCase} onChange={(e) => setUseCase(e.currentTarget.value)}>
            <option value="">anything</option>
            {useCases.map((u) => <option value={u}>{u}</option>)}
          </select>
          <label for="catalog-context">Context</label>
          <select id="catalog-context" value={String(ctx)} onChange={(e) => setCtx(Number(e.currentTarget.value))}>
            {CONTEXTS.map((c) => <option value={String(c)}>{count(c)} tokens</option>)}
          </select>
        </div>
        {picks.length > 0 && (
          <p class="picks small" data-testid="recommendations">Best picks here:{' '}
            {picks.map((r, i) => <>{i > 0 && ' · '}{r.use_case}: <button type="button" class="link"
              onClick={() => { setSearch(r.model ?? ''); setFit('all'); setUseCase(''); }}>{r.model}</button></>)}
          </p>
        )}
        {catalog.error !== null && <ErrorNote error={catalog.error} retry={catalog.reload} />}
        {!catalog.data && catalog.error === null && <p class="muted">Reading the catalog…</p>}
        {catalog.data && (
          <>
            <p class="muted small" role="status">{shown.length} of {catalog.data.models.length} models shown</p>
            <ul class="catalog">{shown.map((m) => <CatalogCard key={m.id} model={m} onStarted={onStarted} />)}</ul>
          </>
        )}
      </section>
    </>
  );
}
