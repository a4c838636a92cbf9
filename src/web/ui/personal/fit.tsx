// The fit verdict of a catalog model on this machine, in words, with the server's reasons.

const VERDICTS: Record<string, { label: string; tone: string; rank: number }> = {
  fits_gpu: { label: 'Fits on the GPU', tone: 'good', rank: 0 },
  fits_partial_gpu: { label: 'Partly on the GPU', tone: 'good', rank: 1 },
  fits_cpu: { label: 'Runs on the CPU', tone: 'good', rank: 2 },
  tight: { label: 'Tight fit', tone: 'warn', rank: 3 },
  will_not_fit: { label: 'Too big for this machine', tone: 'bad', rank: 4 },
};

export function verdictLabel(verdict: string): string {
  return VERDICTS[verdict]?.label ?? verdict.replace(/_/g, ' ');
}

export function verdictRank(verdict: string): number {
  return VERDICTS[verdict]?.rank ?? 5;
}

export const VERDICT_NAMES = Object.keys(VERDICTS);

export function FitBadge({ verdict }: { verdict: string }) {
  return (
    <span class={`badge ${VERDICTS[verdict]?.tone ?? ''}`} data-testid="fit" data-verdict={verdict}>
      {verdictLabel(verdict)}
    </span>
  );
}
