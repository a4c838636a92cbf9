// A model's name, renamed in place: Enter saves, Escape puts the old name back.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api';
import { ErrorNote } from '../lib/ui';
import type { PersonalModel } from './types';

export function RenameInPlace({ model, onRenamed }: { model: PersonalModel; onRenamed: () => void }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(model.custom_name);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const input = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  // After saving or cancelling, the keyboard goes back to the Rename button.
  const refocus = useRef(false);
  const inputId = `rename-${model.id}`;

  useEffect(() => {
    if (editing) input.current?.select();
    else if (refocus.current) { refocus.current = false; button.current?.focus(); }
  }, [editing]);

  const stop = () => { refocus.current = true; setEditing(false); setError(null); setValue(model.custom_name); };
  const save = async () => {
    const name = value.trim();
    if (!name || name === model.custom_name) { stop(); return; }
    setSaving(true);
    try {
      await api('PUT', `/api/personal-models/${model.id}`, { custom_name: name });
      refocus.current = true;
      setEditing(false);
      setError(null);
      onRenamed();
    } catch (e) {
      setError(e);  // stays in the field, so the name can be fixed
    } finally {
      setSaving(false);
    }
  };

  if (!editing) {
    return (
      <span class="model-name">
        <strong data-testid="model-name">{model.custom_name}</strong>
        {model.status !== 'failed' && (
          <button type="button" class="link" ref={button} aria-label={`Rename ${model.custom_name}`}
                  onClick={() => { setValue(model.custom_name); setEditing(true); }}>
            Rename
          </button>
        )}
      </span>
    );
  }
  return (
    <span class="model-name editing">
      <label for={inputId} class="visually-hidden">New name for {model.custom_name}</label>
      <input id={inputId} ref={input} value={value} disabled={saving} spellcheck={false}
             aria-invalid={error !== null}
             onInput={(e) => setValue(e.currentTarget.value)}
             onKeyDown={(e) => {
               if (e.key === 'Enter') { e.preventDefault(); void save(); }
               else if (e.key === 'Escape') { e.preventDefault(); stop(); }
             }} />
      <button type="button" class="primary" disabled={saving} onClick={() => void save()}>Save</button>
      <button type="button" disabled={saving} onClick={stop}>Cancel</button>
      <span class="muted small">Enter saves, Escape cancels. Chats and apps use the new name from now on.</span>
      {error !== null && <ErrorNote error={error} />}
    </span>
  );
}
