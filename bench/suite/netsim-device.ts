// netsim's cost per sync, on one simulated device with no SSH and no commit delay: the sequence
// nvo's driver sends (src/drivers/netconf/apply.ts: lock, discard-changes, edit-config, confirmed
// commit, get-config of just the edited entries, confirming commit, unlock) against a running
// configuration of N MAC entries; and, apart, one get-config of the whole <nvo/> subtree.
// `npx tsx bench/suite/netsim-device.ts [N...]`
import { DOMParser, type Element } from '@xmldom/xmldom';
import { Device } from '../../src/netsim/device.ts';
import { runOperation } from '../../src/netsim/operations.ts';

const LAB = 'urn:nvo3:lab';
const NC = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const op = (body: string) => new DOMParser().parseFromString(`<rpc xmlns="${NC}" message-id="1">${body}</rpc>`, 'text/xml').documentElement!.firstChild as Element;
const mac = (i: number) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const vlanOf = (i: number) => (i % 4000) + 1;
const entry = (i: number) => {
  const vlan = vlanOf(i);
  return `<vlan><id>${vlan}</id></vlan><vni><id>${10000 + vlan}</id><vlan>${vlan}</vlan><encapsulation>vxlan</encapsulation></vni><mac><vni>${10000 + vlan}</vni><address>${mac(i)}</address><vtep>192.0.2.${(i % 250) + 1}</vtep></mac>`;
};
// nvo's read-back: the entries the sync changed, by their list keys
const keysOf = (i: number) => `<vlan><id>${vlanOf(i)}</id></vlan><vni><id>${10000 + vlanOf(i)}</id></vni><mac><vni>${10000 + vlanOf(i)}</vni><address>${mac(i)}</address></mac>`;
const edit = (i: number) => op(`<edit-config><target><candidate/></target><config><nvo xmlns="${LAB}">${entry(i)}</nvo></config></edit-config>`);
const readBack = (i: number) => op(`<get-config><source><running/></source><filter type="subtree"><nvo xmlns="${LAB}">${keysOf(i)}</nvo></filter></get-config>`);

async function measure(n: number, rounds: number): Promise<{ sync: number; whole: number }> {
  const device = new Device(0, { commitDelayMs: 0, checks: true });
  const c = { device, sessionId: 1, closeAfterReply: () => undefined };
  await runOperation(op(`<edit-config><target><candidate/></target><config><nvo xmlns="${LAB}">${Array.from({ length: n }, (_, i) => entry(i)).join('')}</nvo></config></edit-config>`), c);
  await runOperation(op('<commit/>'), c);
  const seq = [
    () => op('<lock><target><candidate/></target></lock>'),
    () => op('<discard-changes/>'),
    edit,
    () => op('<commit><confirmed/><confirm-timeout>120</confirm-timeout></commit>'),
    readBack,
    () => op('<commit/>'),
    () => op('<unlock><target><candidate/></target></unlock>'),
  ];
  const sync1 = async (i: number) => {
    for (const s of seq) {
      const reply = await runOperation(s(i), c);
      if (s === readBack && !reply.includes(mac(i))) throw new Error(`read-back of entry ${i} lacks it: ${reply.slice(0, 300)}`);
    }
  };
  for (let r = 0; r < 5; r++) await sync1(n + rounds + r);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) await sync1(n + r);
  const sync = (performance.now() - t0) / rounds;
  const whole = op(`<get-config><source><running/></source><filter type="subtree"><nvo xmlns="${LAB}"/></filter></get-config>`);
  const t1 = performance.now();
  for (let r = 0; r < 10; r++) await runOperation(whole, c);
  device.stop();
  return { sync, whole: (performance.now() - t1) / 10 };
}

const sizes = process.argv.slice(2).map(Number);
await measure(300, 50); // warm-up: else the first size measured pays for the JIT
for (const n of sizes.length ? sizes : [300, 1000, 3000, 10000]) {
  const m = await measure(n, 50);
  console.log(`${n} MAC entries: ${m.sync.toFixed(2)} ms per sync; whole <nvo/> get-config ${m.whole.toFixed(2)} ms`);
}
