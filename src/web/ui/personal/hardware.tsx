// This machine as the fit verdicts see it: processor, memory, graphics cards and free disk.
import { bytes } from '../lib/format';
import type { Machine } from './types';

export function MachineSummary({ machine }: { machine: Machine }) {
  return (
    <section class="panel machine" aria-labelledby="machine-title">
      <h2 id="machine-title">This machine</h2>
      <dl class="figures">
        <div><dt>Processor</dt><dd>{machine.cpu_model || machine.arch} · {machine.physical_cores} cores ({machine.logical_cores} threads)</dd></div>
        <div><dt>Memory</dt><dd data-testid="ram">{bytes(machine.ram_available_bytes)} free of {bytes(machine.ram_total_bytes)}</dd></div>
        <div><dt>Graphics</dt><dd>
          {machine.gpus.length
            ? machine.gpus.map((g) => `${g.name} (${bytes(g.vram_free_bytes)} free of ${bytes(g.vram_total_bytes)})`).join(', ')
            : 'none usable'}
        </dd></div>
        <div><dt>Free disk for models</dt><dd>{bytes(machine.disk_free_bytes)}</dd></div>
        <div><dt>System</dt><dd>{machine.os}</dd></div>
      </dl>
      {!machine.gpus.length && machine.gpu_note && <p class="muted small">{machine.gpu_note}</p>}
    </section>
  );
}
