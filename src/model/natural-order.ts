// Ids in the order people count them: tor2 before tor10. Runs of digits compare by value, everything
// else by code point (as a plain sort would), so the order is the same on every machine and locale.
const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];

export function naturalCompare(a: string, b: string): number {
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q)) {
      const [m, n] = [p.replace(/^0+(?=\d)/, ''), q.replace(/^0+(?=\d)/, '')];
      if (m.length !== n.length) return m.length - n.length;
      if (m !== n) return m < n ? -1 : 1;
      return p.length - q.length; // equal values: fewer leading zeros first, so the order is total
    }
    // Not two numbers: the rest as a plain sort sees it ('tor-gw' before 'tor1', as '-' < '1').
    const [r, t] = [x.slice(i).join(''), y.slice(i).join('')];
    return r < t ? -1 : 1;
  }
  return x.length - y.length;
}
