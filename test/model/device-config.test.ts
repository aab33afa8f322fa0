// The canonical forms every diff and every stored configuration rest on: stableJson (equal entries
// give equal strings whatever their key order) and normalizeConfig's order.
import { describe, expect, it } from 'vitest';
import { diffConfig, emptyConfig, normalizeConfig, sameJson, stableJson } from '../../src/model/device-config.ts';

// The definition: JSON.stringify with every object's keys sorted.
const reference = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );

describe('stableJson', () => {
  it('is JSON.stringify with sorted keys, byte for byte', () => {
    const values: unknown[] = [
      null, 0, -1.5, 'a"b\\c\n', true, [], {}, [1, undefined, null, 'x'],
      { b: 1, a: { d: [3, { z: 1, y: undefined }], c: null }, 'é': 'ü', '10': 'ten', '9': 'nine' },
      { vni: 5010, mac: '02:00:00:00:00:01', vtep: '192.0.2.1', skip: undefined, fn: () => 1 },
      { name: 'red', rd: '65000:1', importTargets: ['65000:2', '65000:1'], exportTargets: [] },
    ];
    for (const v of values) expect(stableJson(v)).toBe(reference(v));
    expect(stableJson({ a: 1, b: 2 })).toBe(stableJson({ b: 2, a: 1 }));
  });
});

describe('normalizeConfig', () => {
  it('orders by the key number first (VLAN 9 before 10), then as text, and keeps the last of duplicates', () => {
    const c = normalizeConfig({
      ...emptyConfig(),
      vlans: [{ id: 10, name: 'ten' }, { id: 9, name: 'nine' }, { id: 100, name: 'x' }, { id: 10, name: 'ten again' }],
      macs: [
        { vni: 20, mac: '02:00:00:00:00:01', vtep: '192.0.2.1' },
        { vni: 3, mac: '02:00:00:00:00:0b', vtep: '192.0.2.1' },
        { vni: 3, mac: '02:00:00:00:00:0a', vtep: '192.0.2.2' },
      ],
      vrfs: [{ name: 'blue', rd: '1:1', importTargets: [], exportTargets: [] }, { name: 'apple', rd: '1:2', importTargets: [], exportTargets: [] }],
    });
    expect(c.vlans.map((v) => `${v.id} ${v.name}`)).toEqual(['9 nine', '10 ten again', '100 x']);
    expect(c.macs.map((m) => `${m.vni}/${m.mac}`)).toEqual(['3/02:00:00:00:00:0a', '3/02:00:00:00:00:0b', '20/02:00:00:00:00:01']);
    expect(c.vrfs.map((v) => v.name)).toEqual(['apple', 'blue']);
  });

  it('makes diffConfig blind to key order inside entries', () => {
    const a = { ...emptyConfig(), vnis: [{ vni: 1, vlan: 2, encapsulation: 'vxlan' }] };
    const b = { ...emptyConfig(), vnis: [{ encapsulation: 'vxlan', vlan: 2, vni: 1 }] };
    const d = diffConfig(a, b);
    expect(d.merge.vnis).toEqual([]);
    expect(diffConfig(a, { ...b, vnis: [{ ...b.vnis[0]!, vlan: 3 }] }).merge.vnis).toHaveLength(1);
  });
});

describe('sameJson', () => {
  it('agrees with comparing stableJson strings', () => {
    const values: unknown[] = [
      null, 0, 1, '1', true, false, [], {}, [1, 2], [2, 1], [1, undefined], [1, null],
      { a: 1 }, { a: 1, b: undefined }, { a: '1' }, { a: [1, { b: 2 }] }, { a: [1, { b: 3 }] },
      { vni: 1, vlan: 2, encapsulation: 'vxlan' }, { encapsulation: 'vxlan', vlan: 2, vni: 1 }, { vni: 1, vlan: 2 },
    ];
    for (const a of values) for (const b of values) expect([a, b, sameJson(a, b)]).toEqual([a, b, stableJson(a) === stableJson(b)]);
  });
});
