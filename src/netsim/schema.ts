// The little of YANG (RFC 7950) a simulated device needs: which elements are lists and by which
// keys (so edit-config can find an entry), leaf-lists, leaf types with their restrictions,
// mandatory leaves and leafrefs. Namespaces without a schema are kept schemaless.
import { isIP, isIPv4 } from 'node:net';

export type LeafType =
  | { base: 'uint'; min: number; max: number }
  | { base: 'string'; minLength?: number; maxLength?: number; pattern?: RegExp }
  | { base: 'enumeration'; values: string[] }
  | { base: 'ip-address' | 'ipv4-address' };

export type SchemaNode =
  | { kind: 'container'; children: Record<string, SchemaNode> }
  | { kind: 'list'; key: string[]; children: Record<string, SchemaNode> }
  | { kind: 'leaf'; type: LeafType; mandatory?: boolean; leafref?: string[] }
  | { kind: 'leaf-list'; type: LeafType };

export interface Module {
  name: string;
  revision: string;
  namespace: string;
  prefix: string;
  top: Record<string, SchemaNode>;
}

/** Why `value` is not of `type` (the YANG error-app-tag and words), or null when it is. */
export function typeError(type: LeafType, value: string): { appTag: string; message: string } | null {
  switch (type.base) {
    case 'uint': {
      if (!/^\d+$/.test(value)) return { appTag: 'invalid-type', message: `'${value}' is not an unsigned integer` };
      const n = Number(value);
      return n < type.min || n > type.max ? { appTag: 'not-in-range', message: `value ${value} not in range ${type.min}..${type.max}` } : null;
    }
    case 'string': {
      const len = [...value].length;
      if ((type.minLength !== undefined && len < type.minLength) || (type.maxLength !== undefined && len > type.maxLength))
        return { appTag: 'length-violation', message: `length ${len} not in ${type.minLength ?? 0}..${type.maxLength ?? 'max'}` };
      if (type.pattern && !type.pattern.test(value)) return { appTag: 'pattern-violation', message: `'${value}' does not match ${type.pattern.source}` };
      return null;
    }
    case 'enumeration':
      return type.values.includes(value) ? null : { appTag: 'invalid-enum', message: `'${value}' is not one of ${type.values.join(', ')}` };
    case 'ip-address':
      return isIP(value.replace(/%.*$/, '')) ? null : { appTag: 'invalid-type', message: `'${value}' is not an IP address` };
    case 'ipv4-address':
      return isIPv4(value) ? null : { appTag: 'invalid-type', message: `'${value}' is not an IPv4 address` };
  }
}

export function childSchema(parent: SchemaNode | undefined, name: string): SchemaNode | undefined {
  return parent && (parent.kind === 'container' || parent.kind === 'list') ? parent.children[name] : undefined;
}
