// The candidate shares running's tree until an edit (copy on write, device.ts): these check that no
// RPC sequence lets a change leak from one datastore into another through that sharing, and that
// the host key generator never hands out a key ssh2 cannot parse. Device-level, no SSH: the wire is
// covered by nvo-client.test.ts and ncclient.test.ts.
import { DOMParser, type Element } from '@xmldom/xmldom';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { Device } from '../../src/netsim/device.ts';
import { runOperation } from '../../src/netsim/operations.ts';
import { ed25519HostKey } from '../../src/netsim/ssh-server.ts';
import { LAB, vlans } from './support.ts';

const NC = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const op = (body: string) => new DOMParser().parseFromString(`<rpc xmlns="${NC}" message-id="1">${body}</rpc>`, 'text/xml').documentElement!.firstChild as Element;

function device() {
  const d = new Device(0, { commitDelayMs: 0, checks: true });
  const rpc = (body: string, sessionId = 1) => runOperation(op(body), { device: d, sessionId, closeAfterReply: () => undefined });
  const ids = async (ds: 'running' | 'candidate') => [...(await rpc(`<get-config><source><${ds}/></source></get-config>`)).matchAll(/<id>(\d+)<\/id>/g)].map((m) => Number(m[1]));
  const edit = (xml: string, sessionId = 1) => rpc(`<edit-config><target><candidate/></target><config>${xml}</config></edit-config>`, sessionId);
  return { d, rpc, ids, edit };
}

describe('netsim datastores under copy on write', () => {
  it('an edit changes the candidate only; commit moves it to running; a later edit leaves running alone', async () => {
    const { rpc, ids, edit } = device();
    await edit(vlans(10));
    expect(await ids('candidate')).toEqual([10]);
    expect(await ids('running')).toEqual([]);
    await rpc('<commit/>');
    expect(await ids('running')).toEqual([10]);
    await edit(vlans(20));
    expect(await ids('running')).toEqual([10]);
    expect(await ids('candidate')).toEqual([10, 20]);
    await rpc('<discard-changes/>');
    expect(await ids('candidate')).toEqual([10]);
    await edit(`<nvo xmlns="${LAB}"><vlan xmlns:nc="${NC}" nc:operation="delete"><id>10</id></vlan></nvo>`);
    expect(await ids('candidate')).toEqual([]);
    expect(await ids('running')).toEqual([10]);
  });

  it('a failed edit (rollback-on-error, test-only) changes neither datastore', async () => {
    const { rpc, ids, edit } = device();
    await edit(vlans(1));
    await rpc('<commit/>');
    await expect(rpc(`<edit-config><target><candidate/></target><error-option>rollback-on-error</error-option><config>${vlans(2, 5000)}</config></edit-config>`)).rejects.toThrow(/5000/);
    await rpc(`<edit-config><target><candidate/></target><test-option>test-only</test-option><config>${vlans(3)}</config></edit-config>`);
    expect(await ids('candidate')).toEqual([1]);
    expect(await ids('running')).toEqual([1]);
  });

  it('unlock drops the locking session’s uncommitted edit and running stays as committed', async () => {
    const { rpc, ids, edit } = device();
    await rpc('<lock><target><candidate/></target></lock>');
    await edit(vlans(7));
    await rpc('<commit/>');
    await edit(vlans(8));
    await rpc('<unlock><target><candidate/></target></unlock>');
    expect(await ids('candidate')).toEqual([7]);
    expect(await ids('running')).toEqual([7]);
  });

  it('a cancelled confirmed commit restores running as it was before, whatever was edited since', async () => {
    const { rpc, ids, edit, d } = device();
    await edit(vlans(1));
    await rpc('<commit/>');
    await edit(vlans(2));
    await rpc('<commit><confirmed/></commit>');
    await edit(vlans(3));
    await rpc('<commit><confirmed/></commit>');
    expect(await ids('running')).toEqual([1, 2, 3]);
    await rpc('<cancel-commit/>');
    expect(await ids('running')).toEqual([1]);
    expect(await ids('candidate')).toEqual([1]);
    expect(d.stats.rollbacks).toBe(1);
  });

  it('a commit that fails the YANG checks leaves running unchanged even when the candidate was edited with test-option set', async () => {
    const { rpc, ids } = device();
    // test-option set skips the whole-datastore checks at edit time: the dangling leafref is caught at commit
    await rpc(`<edit-config><target><candidate/></target><test-option>set</test-option><config><nvo xmlns="${LAB}"><vni><id>100</id><vlan>9</vlan><encapsulation>vxlan</encapsulation></vni></nvo></config></edit-config>`);
    await expect(rpc('<commit/>')).rejects.toThrow(/does not exist/);
    expect(await ids('running')).toEqual([]);
  });
});

describe('netsim host keys', () => {
  it('every generated ed25519 host key parses (ssh2 drops a leading zero byte of one key in 256)', () => {
    for (let i = 0; i < 1500; i++) {
      const k = ed25519HostKey();
      expect(ssh2.utils.parseKey(k.private)).not.toBeInstanceOf(Error);
      expect(k.parsed.getPublicSSH().length).toBe(51); // string "ssh-ed25519" + string of 32 bytes
    }
  });
});
