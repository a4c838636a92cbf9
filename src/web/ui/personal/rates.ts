// Download speed and time left, worked out in the page: the server records how far a download
// is (a percentage, written about once a second) but not how fast it goes, so the page keeps the
// samples it saw while polling and measures the change over the last few seconds.

interface Sample { at: number; percent: number }

const WINDOW_MS = 8000;

export interface Rate {
  percentPerSecond: number | null;  // null until two samples a little apart show movement
  bytesPerSecond: number | null;    // null when the size is unknown
  secondsLeft: number | null;
}

export class RateTracker {
  private samples = new Map<number, Sample[]>();

  // Records where each unfinished download stands now; forgets the ones that ended.
  observe(progress: Map<number, number>, now: number): void {
    for (const id of [...this.samples.keys()]) if (!progress.has(id)) this.samples.delete(id);
    for (const [id, percent] of progress) {
      const list = this.samples.get(id) ?? [];
      const last = list[list.length - 1];
      // A restarted download (percent going down) starts a new measurement.
      if (last && percent < last.percent) list.length = 0;
      list.push({ at: now, percent });
      while (list.length > 2 && now - list[0].at > WINDOW_MS) list.shift();
      this.samples.set(id, list);
    }
  }

  rate(id: number, totalBytes: number): Rate {
    const list = this.samples.get(id) ?? [];
    const none: Rate = { percentPerSecond: null, bytesPerSecond: null, secondsLeft: null };
    if (list.length < 2) return none;
    const first = list[0];
    const last = list[list.length - 1];
    const seconds = (last.at - first.at) / 1000;
    if (seconds < 0.5) return none;
    const percentPerSecond = (last.percent - first.percent) / seconds;
    if (percentPerSecond <= 0) return { ...none, percentPerSecond: 0 };
    return {
      percentPerSecond,
      bytesPerSecond: totalBytes > 0 ? (percentPerSecond / 100) * totalBytes : null,
      secondsLeft: (100 - last.percent) / percentPerSecond,
    };
  }
}
