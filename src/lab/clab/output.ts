// The converted inventory as a file `nvo apply -f` takes, with what did not go into it said in
// comments at the top (hNVEs, skipped nodes), so nothing is dropped silently.
import { stringify } from 'yaml';
import type { ClabInventory } from './convert.ts';

export function inventoryYaml(r: ClabInventory): string {
  const head = [
    `# nvo inventory from containerlab topology ${r.lab} (${r.file}), by \`nvo inventory from-clab\`.`,
    `# ${r.inventory.devices.length} device(s), ${r.inventory.pods.length} pod(s). Applying this file alone with \`nvo apply -f\` makes it the`,
    '# WHOLE inventory (tenants and CID mappings not in it are deleted); `from-clab --apply` merges instead.',
  ];
  if (r.hnves.length) {
    head.push('#', '# hNVEs (nvo.role: hnve) are not part of the inventory document; provision them in the hNVE store', '# with a secret each:');
    for (const h of r.hnves) head.push(`#   ${h.id}: pod ${h.pod}, vtep ${h.vtep}, encapsulations ${h.encapsulations.join(',')}`);
  }
  if (r.skipped.length) {
    head.push('#', '# Nodes without nvo.role (not managed by nvo):');
    for (const s of r.skipped) head.push(`#   ${s.node} (kind ${s.kind ?? 'unset'})`);
  }
  // YAML 1.1 quoting, so `off` and `yes` stay strings for any reader.
  return `${head.join('\n')}\n\n${stringify(r.inventory, { version: '1.1' })}`;
}

/** What `--json` prints: the inventory plus the parts that are not in it. */
export function inventoryJson(r: ClabInventory): unknown {
  return { lab: r.lab, inventory: r.inventory, hnves: r.hnves, skipped: r.skipped };
}
