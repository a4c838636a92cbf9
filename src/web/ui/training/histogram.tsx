// The score distribution of one model's answers: ten bars, one per tenth of the quality score.
// Plain elements rather than a canvas: ten bars need no chart library, and each bar can say its
// count to a screen reader.

export function ScoreHistogram({ counts, threshold }: { counts: number[] | undefined; threshold: number }) {
  if (!counts || counts.length !== 10) return <span class="muted">–</span>;
  const highest = Math.max(1, ...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  return (
    <div class="histogram" data-testid="histogram" data-total={total} role="list"
         aria-label={`Quality scores of ${total} answers`}>
      {counts.map((n, i) => {
        const from = (i / 10).toFixed(1);
        const to = ((i + 1) / 10).toFixed(1);
        // Answers above the threshold are the ones training learns from.
        const counted = i / 10 >= threshold;
        return (
          <div class="histogram-bar" role="listitem" aria-label={`score ${from}–${to}: ${n}`} title={`score ${from}–${to}: ${n}`}>
            <div class={counted ? 'histogram-fill counted' : 'histogram-fill'}
                 style={{ height: `${Math.round((n / highest) * 100)}%` }} />
          </div>
        );
      })}
    </div>
  );
}
