import { describe, expect, it } from 'vitest';
import { naturalCompare } from '../../src/model/natural-order.ts';

describe('naturalCompare', () => {
  it('puts tor2 before tor10, and otherwise sorts as a plain sort would', () => {
    expect(['tor10', 'tor2', 'tor1', 'tgw1', 'wan1', 'tor-gw', 'h10', 'h9', 'pod1.b', 'pod1.a'].sort(naturalCompare)).toEqual(['h9', 'h10', 'pod1.a', 'pod1.b', 'tgw1', 'tor-gw', 'tor1', 'tor2', 'tor10', 'wan1']);
  });
  it('is a total order: leading zeros and numbers beyond 2^53 keep a fixed place', () => {
    expect(['x010', 'x10', 'x9', 'x0010'].sort(naturalCompare)).toEqual(['x9', 'x10', 'x010', 'x0010']);
    expect(['n90071992547409930', 'n90071992547409929'].sort(naturalCompare)).toEqual(['n90071992547409929', 'n90071992547409930']);
    expect(naturalCompare('a1', 'a1')).toBe(0);
  });
});
