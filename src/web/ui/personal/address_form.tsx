// Downloading a GGUF file that is not in the catalog: an https:// address or hf://owner/repo/file.
import { useState } from 'preact/hooks';
import { ErrorNote } from '../lib/ui';
import { startDownload } from './download_api';

export function AddressForm({ onStarted }: { onStarted: (name: string) => void }) {
  const [address, setAddress] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  return (
    <section aria-labelledby="address-title">
      <h2 id="address-title">Download from an address</h2>
      <form class="address-form panel" onSubmit={(e) => {
        e.preventDefault();
        if (!address.trim()) return;
        setStarting(true);
        startDownload({ model_id: address.trim(), custom_name: name })
          .then((row) => { setError(null); setAddress(''); setName(''); onStarted(row.custom_name); }, setError)
          .finally(() => setStarting(false));
      }}>
        <label for="download-address">GGUF file address</label>
        <input id="download-address" type="text" inputMode="url" spellcheck={false} value={address}
               placeholder="https://…/model.gguf or hf://owner/repo/file.gguf"
               onInput={(e) => setAddress(e.currentTarget.value)} />
        <label for="download-name">Name (optional)</label>
        <input id="download-name" type="text" spellcheck={false} value={name} placeholder="my-model"
               onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={starting || !address.trim()}>Download</button>
        <p class="hint">hearth fetches the file from that address to this machine (resuming if it is cut off)
          and checks that it loads; the address is kept with the model so you can see where it came from.</p>
      </form>
      {error !== null && <ErrorNote error={error} />}
    </section>
  );
}
