// The loss curve: a small wrapper around uPlot (canvas, ~50 KB) that draws the training loss as a
// line and the held-out (eval) losses as points, and takes new data without being rebuilt, so a
// running job's curve grows in place as its events arrive.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { CurvePoint } from './types';

// uPlot paints on a canvas, which cannot read CSS variables: take the page's colours once.
function colour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function columns(points: CurvePoint[]): uPlot.AlignedData {
  const sorted = [...points].sort((a, b) => a.step - b.step);
  return [
    sorted.map((p) => p.step),
    sorted.map((p) => p.loss),
    sorted.map((p) => (typeof p.eval_loss === 'number' ? p.eval_loss : null)),
  ];
}

export function LossChart({ points, totalSteps }: { points: CurvePoint[]; totalSteps?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const muted = colour('--muted', '#6b6460');
    const line = colour('--line', '#e7e2dc');
    const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 260,
      scales: { x: { time: false } },
      series: [
        { label: 'step' },
        { label: 'training loss', stroke: colour('--accent', '#c2410c'), width: 2,
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(4)) },
        { label: 'held-out loss', stroke: colour('--focus', '#2563eb'), width: 0,
          paths: () => null, points: { show: true, size: 8, fill: colour('--focus', '#2563eb') },
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(4)) },
      ],
      axes: [{ ...axis, label: 'step' }, { ...axis, label: 'loss' }],
    };
    plot.current = new uPlot(options, columns(points), el);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 260 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(columns(points));
  }, [points]);

  const evalPoints = points.filter((p) => typeof p.eval_loss === 'number').length;
  const last = points.length ? points[points.length - 1] : null;
  return (
    <figure class="loss-chart">
      {/* The point counts are for tests and screen readers: what the canvas shows, in numbers. */}
      <div ref={box} data-testid="loss-chart" data-points={points.length} data-eval-points={evalPoints}
           role="img"
           aria-label={points.length
             ? `Loss curve: ${points.length} steps${totalSteps ? ` of ${totalSteps}` : ''}, latest loss ${last?.loss.toFixed(4)}` +
               (evalPoints ? `, ${evalPoints} held-out evaluations` : '')
             : 'Loss curve: no steps yet'} />
      {!points.length && <figcaption class="muted">The curve appears with the first training step.</figcaption>}
    </figure>
  );
}
