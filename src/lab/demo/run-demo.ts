// `nvo lab demo`: use cases 1-6 in order on the running lab, each narrated and proved; the first
// failed proof ends it (the report names the step). The order is the seed's: tenants, resources,
// registration, VMs, MAC changes, the move; then BYE takes everything down again, so the demo can
// run again on the same lab.
import { ViewSources } from '../../proxy/views/sources.ts';
import type { InventoryStore } from '../../store/inventory-store.ts';
import { openLab } from '../lab-handle.ts';
import type { DemoContext } from './context.ts';
import { byeAll, uc6Refer } from './move.ts';
import { DemoFailure, Narrator, type DemoReport } from './narrator.ts';
import { DeviceReader } from './observe.ts';
import { reset, uc1Tenants, uc2Resources, uc3Registration } from './provision.ts';
import { uc4Invite, uc5Info } from './vms.ts';

export interface DemoOptions {
  topologyFile: string;
  stateDir: string;
  name?: string;
  store: InventoryStore;
  /** Each narrated line as it happens. */
  out?: (line: string) => void;
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const n = new Narrator(o.out);
  const lab = openLab({ topologyFile: o.topologyFile, stateDir: o.stateDir, name: o.name });
  const views = new ViewSources(o.store.redis, o.store.k, o.store);
  const c: DemoContext = { lab, stateDir: o.stateDir, store: o.store, views, n, devices: new DeviceReader(lab, views), at: new Map() };
  let failure: DemoFailure | null = null;
  try {
    await n.step('start', 'the lab at its starting point', () => reset(c));
    await n.step('UC1', 'tenant provisioning (server admin → tenant proxy)', () => uc1Tenants(c));
    await n.step('UC2', 'network resource provisioning (network admin → network proxy)', () => uc2Resources(c));
    await n.step('UC3', 'NVE provisioning: hNVEs REGISTER, aNVEs reached', () => uc3Registration(c));
    await n.step('UC4', 'VM provisioning: INVITE per VM, allocation, device configuration, packets', () => uc4Invite(c));
    await n.step('UC5', 'INFO: a MAC added and deleted, every member of the VNI follows', () => uc5Info(c));
    await n.step('UC6', 'REFER: an hNVE moves to another host, make-before-break, under a ping stream', () => uc6Refer(c));
    await n.step('BYE', 'every VM goes: sessions ended, MACs gone everywhere', () => byeAll(c));
  } catch (e) {
    if (!(e instanceof DemoFailure)) throw e;
    failure = e;
  } finally {
    await c.devices.close();
  }
  return n.report(failure);
}
