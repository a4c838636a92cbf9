// The loss curve: a small wrapper around uPlot (canvas, ~50 KB) that draws the training loss as a
// line and the held-out (eval) losses as points, and takes new data without being rebuilt, so a
// running job's curve grows in place as its events arrive. uPlot's own legend is off: its series
// toggles answer only the mouse, and inside the chart's role="img" a screen reader would not
// reach them; the legend below the canvas is plain text instead.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { CurvePoint } from './types';

// uPlot paints on a canvas, which cannot read CSS variables: take the page's colours once.
function colour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const TRAINING = { label: 'training loss', colour: ['--accent', '#c2410c'] as const };
const HELD_OUT = { label: 'held-out loss', colour: ['--focus', '#2563eb'] as const };

// `points` in step order.
function columns(points: CurvePoint[]): uPlot.AlignedData {
  return [
    points.map((p) => p.step),
    points.map((p) => p.loss),
    points.map((p) => (typeof p.eval_loss === 'number' ? p.eval_loss : null)),
  ];
}

const loss = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(4) : '–');

// What the legend says: the step under the mouse, else the latest step and the latest held-out
// evaluation (most steps have none).
function Legend({ points, hovered }: { points: CurvePoint[]; hovered: CurvePoint | null }) {
  const swatch = (c: readonly [string, string], shape: string) =>
    <span class={`swatch ${shape}`} aria-hidden="true" style={{ background: colour(...c) }} />;
  const point = hovered ?? points[points.length - 1];
  const held = hovered ?? [...points].reverse().find((p) => typeof p.eval_loss === 'number');
  return (
    <figcaption class="chart-legend" data-testid="chart-legend">
      {/* Spaces between the parts, so that the caption reads as words, not only looks like them. */}
      <span>{hovered ? `At step ${point.step}:` : `Latest, step ${point.step}:`}</span>{' '}
      <span>{swatch(TRAINING.colour, 'line')}{TRAINING.label} {loss(point.loss)}</span>{' '}
      <span>{swatch(HELD_OUT.colour, 'dot')}{HELD_OUT.label} {loss(held?.eval_loss)}
        {!hovered && held && held.step !== point.step && ` (step ${held.step})`}</span>
    </figcaption>
  );
}

export function LossChart({ points, totalSteps }: { points: CurvePoint[]; totalSteps?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hovered, setHovered] = useState<number | null>(null);
  const ordered = useMemo(() => [...points].sort((a, b) => a.step - b.step), [points]);

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
      legend: { show: false },
      series: [
        { label: 'step' },
        { label: TRAINING.label, stroke: colour(...TRAINING.colour), width: 2 },
        { label: HELD_OUT.label, stroke: colour(...HELD_OUT.colour), width: 0,
          paths: () => null, points: { show: true, size: 8, fill: colour(...HELD_OUT.colour) } },
      ],
      axes: [{ ...axis, label: 'step' }, { ...axis, label: 'loss' }],
      hooks: { setCursor: [(u) => setHovered(u.cursor.idx ?? null)] },
    };
    plot.current = new uPlot(options, columns(ordered), el);
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
    plot.current?.setData(columns(ordered));
  }, [ordered]);

  const evalPoints = points.filter((p) => typeof p.eval_loss === 'number').length;
  const last = ordered.length ? ordered[ordered.length - 1] : null;
  return (
    <figure class="loss-chart">
      {/* Only the drawing is the image; its label and the point counts (for tests) say in
          numbers what the canvas shows. */}
      <div ref={box} data-testid="loss-chart" data-points={points.length} data-eval-points={evalPoints}
           role="img"
           aria-label={points.length
             ? `Loss curve: ${points.length} steps${totalSteps ? ` of ${totalSteps}` : ''}, latest loss ${last?.loss.toFixed(4)}` +
               (evalPoints ? `, ${evalPoints} held-out evaluations` : '')
             : 'Loss curve: no steps yet'} />
      {ordered.length
        ? <Legend points={ordered} hovered={(hovered !== null ? ordered[hovered] : null) ?? null} />
        : <figcaption class="muted">The curve appears with the first training step.</figcaption>}
    </figure>
  );
}
