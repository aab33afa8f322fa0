// netsim's cost per sync, on one simulated device with no SSH and no commit delay: the sequence
// nvo's driver sends (lock, discard-changes, edit-config, commit, get-config running, unlock)
// against a running configuration of N MAC entries. `npx tsx bench/suite/netsim-device.ts [N...]`
import { DOMParser, type Element } from '@xmldom/xmldom';
import { Device } from '../../src/netsim/device.ts';
import { runOperation } from '../../src/netsim/operations.ts';

const LAB = 'urn:nvo3:lab';
const NC = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const op = (body: string) => new DOMParser().parseFromString(`<rpc xmlns="${NC}" message-id="1">${body}</rpc>`, 'text/xml').documentElement!.firstChild as Element;
const mac = (i: number) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const entry = (i: number) => {
  const vlan = (i % 4000) + 1;
  return `<vlan><id>${vlan}</id></vlan><vni><id>${10000 + vlan}</id><vlan>${vlan}</vlan><encapsulation>vxlan</encapsulation></vni><mac><vni>${10000 + vlan}</vni><address>${mac(i)}</address><vtep>192.0.2.${(i % 250) + 1}</vtep></mac>`;
};
const edit = (i: number) => op(`<edit-config><target><candidate/></target><config><nvo xmlns="${LAB}">${entry(i)}</nvo></config></edit-config>`);

async function perSync(n: number, rounds: number): Promise<number> {
  const device = new Device(0, { commitDelayMs: 0, checks: true });
  const c = { device, sessionId: 1, closeAfterReply: () => undefined };
  const seq = [
    () => op('<lock><target><candidate/></target></lock>'),
    () => op('<discard-changes/>'),
    null,
    () => op('<commit/>'),
    () => op(`<get-config><source><running/></source><filter type="subtree"><nvo xmlns="${LAB}"/></filter></get-config>`),
    () => op('<unlock><target><candidate/></target></unlock>'),
  ];
  await runOperation(op(`<edit-config><target><candidate/></target><config><nvo xmlns="${LAB}">${Array.from({ length: n }, (_, i) => entry(i)).join('')}</nvo></config></edit-config>`), c);
  await runOperation(op('<commit/>'), c);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const s of seq) await runOperation(s ? s() : edit(n + r), c);
  return (performance.now() - t0) / rounds;
}

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length ? sizes : [300, 1000, 3000]) console.log(`${n} MAC entries: ${(await perSync(n, 20)).toFixed(2)} ms per sync`);
