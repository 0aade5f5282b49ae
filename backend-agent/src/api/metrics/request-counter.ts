/** Counts served HTTP API requests by route template and status code. */
export interface RequestCount {
  route: string;
  code: number;
  count: number;
}

export class RequestCounter {
  private readonly counts = new Map<string, RequestCount>();

  increment(route: string, code: number): void {
    const key = `${code} ${route}`;
    const entry = this.counts.get(key);
    if (entry) entry.count += 1;
    else this.counts.set(key, { route, code, count: 1 });
  }

  /** Sorted by route then code, so the exposition is stable between scrapes. */
  snapshot(): RequestCount[] {
    return [...this.counts.values()]
      .map((e) => ({ ...e }))
      .sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : a.code - b.code));
  }
}
