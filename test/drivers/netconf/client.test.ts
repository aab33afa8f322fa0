// The NETCONF client against real netconfd (yuma123) behind a private OpenSSH sshd: auth and host
// keys, both framings, many RPCs in flight, timeouts, a dropped session, a 5 MB reply, and the
// edit-config parameters of RFC 6241 §7.2 as netconfd carries them out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetconfServers, type NetconfInstance, type NetconfServers } from '../../../lab/netconf-server.ts';
import { NetconfError } from '../../../src/drivers/netconf/netconf-error.ts';
import * as op from '../../../src/drivers/netconf/operations.ts';
import { RpcError } from '../../../src/drivers/netconf/rpc-error.ts';
import { NetconfSession, type SessionOptions } from '../../../src/drivers/netconf/rpc.ts';
import { VALIDATE_11 } from '../../../src/drivers/netconf/capabilities.ts';
import { child, children, text } from '../../../src/drivers/netconf/xml.ts';
import { rejection } from '../../support/rejection.ts';

let servers: NetconfServers;
let both: NetconfInstance; // base:1.0 and 1.1
let only10: NetconfInstance;
let only11: NetconfInstance;
let big: NetconfInstance; // the 5 MB datastore, then killed for the dropped-session test
const sessions: NetconfSession[] = [];

beforeAll(async () => {
  servers = await startNetconfServers({ instances: [{}, { protocols: '1.0' }, { protocols: '1.1' }, {}] });
  [both, only10, only11, big] = servers.instances as [NetconfInstance, NetconfInstance, NetconfInstance, NetconfInstance];
});
afterAll(async () => {
  for (const s of sessions) s.end();
  await servers?.stop();
});

const opts = (n: NetconfInstance, extra: Partial<SessionOptions> = {}): SessionOptions => ({
  host: n.host,
  port: n.port,
  username: n.username,
  password: n.password,
  hostKeyCheck: 'pinned',
  hostKey: n.hostKey,
  ...extra,
});
async function open(n: NetconfInstance, extra: Partial<SessionOptions> = {}) {
  const s = await NetconfSession.open(opts(n, extra));
  sessions.push(s);
  return s;
}
const LAB = 'urn:nvo3:lab';
const vlans = (n: number, name: (i: number) => string) =>
  `<nvo xmlns="${LAB}">${Array.from({ length: n }, (_, i) => `<vlan><id>${i + 1}</id><name>${name(i + 1)}</name></vlan>`).join('')}</nvo>`;

describe('SSH transport', () => {
  it('logs in with a password, an ed25519 key and an RSA (PEM, rsa-sha2) key', async () => {
    for (const auth of [{}, { password: undefined, privateKeyFile: both.ed25519KeyFile }, { password: undefined, privateKeyFile: both.rsaKeyFile }]) {
      const s = await open(both, auth);
      expect(s.sessionId).toBeGreaterThan(0);
      await op.closeSession(s);
      expect(s.isOpen).toBe(false);
    }
  });

  it('checks the host key: pinned, known_hosts, explicit off; a wrong key or password is refused', async () => {
    await op.closeSession(await open(both, { hostKeyCheck: 'known-hosts', hostKey: undefined, knownHostsFile: both.knownHostsFile }));
    await op.closeSession(await open(both, { hostKeyCheck: 'off', hostKey: undefined }));
    const wrong = await rejection(open(both, { hostKey: 'SHA256:' + 'A'.repeat(43) }));
    expect(wrong).toBeInstanceOf(NetconfError);
    expect((wrong as NetconfError).netconfCode).toBe('host-key-mismatch');
    expect(wrong.message).toContain(both.hostKey);
    const bad = await rejection(open(both, { password: 'not-the-password' }));
    expect((bad as NetconfError).netconfCode).toBe('auth-failed');
    const closed = await rejection(open({ ...both, port: 1 }));
    expect((closed as NetconfError).netconfCode).toBe('unreachable');
    expect((closed as NetconfError).transient).toBe(true);
  });
});

describe('framing', () => {
  it('uses chunked framing when both sides have base:1.1, end-of-message when one has only 1.0', async () => {
    const a = await open(both);
    expect(a.framing).toBe('1.1');
    const b = await open(only10);
    expect(b.framing).toBe('1.0');
    const c = await open(only11);
    expect(c.framing).toBe('1.1');
    const d = await open(both, { framing: '1.0' });
    expect(d.framing).toBe('1.0');
    for (const s of [a, b, c, d]) {
      await op.editConfig(s, { target: 'candidate', config: vlans(1, () => `framing-${s.framing}`) });
      const data = await op.getConfig(s, 'candidate', `<nvo xmlns="${LAB}"/>`);
      expect(data.toString()).toContain(`framing-${s.framing}`);
      await op.discardChanges(s);
      await op.closeSession(s);
    }
    const err = await rejection(open(only10, { framing: '1.1' }));
    expect((err as NetconfError).netconfCode).toBe('protocol');
  });

  it('sends in 7-byte chunks and the server reassembles them', async () => {
    const s = await open(both, { maxChunk: 7 });
    await op.editConfig(s, { target: 'candidate', config: vlans(3, (i) => `seven-byte-chunks-ü-${i}`) });
    const data = await op.getConfig(s, 'candidate', `<nvo xmlns="${LAB}"/>`);
    expect(data.toString()).toContain('seven-byte-chunks-ü-3');
    await op.discardChanges(s);
    await op.closeSession(s);
  });
});

describe('RPCs', () => {
  it('answers 50 RPCs in flight on one session, each with its own reply', async () => {
    const s = await open(both);
    await op.lock(s, 'candidate');
    await op.editConfig(s, { target: 'candidate', config: vlans(50, (i) => `in-flight-${i}`) });
    await op.commit(s);
    const ids = Array.from({ length: 50 }, (_, i) => i + 1);
    const replies = await Promise.all(ids.map((i) => op.getConfig(s, 'running', `<nvo xmlns="${LAB}"><vlan><id>${i}</id></vlan></nvo>`)));
    expect(s.inFlight).toBe(0);
    replies.forEach((data, k) => {
      const text = data.toString();
      expect(text).toContain(`in-flight-${ids[k]}<`);
      expect(text.match(/in-flight-/g)).toHaveLength(1);
    });
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="remove"/>` });
    await op.commit(s);
    await op.unlock(s, 'candidate');
    await op.closeSession(s);
  });

  it('turns <rpc-error> into a typed error with the device path and words, and keeps the session usable', async () => {
    const s = await open(both);
    const err = await rejection(op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>5000</id></vlan></nvo>` }));
    expect(err).toBeInstanceOf(RpcError);
    const e = err as RpcError;
    expect(e.errors[0]).toMatchObject({ type: 'protocol', tag: 'invalid-value', severity: 'error', appTag: 'not-in-range', message: 'value not in range', info: { 'bad-value': '5000' } });
    expect(e.path).toContain("vlan[nvo:id='5000']");
    expect(e.transient).toBe(false);
    expect(e.code).toBe('invalid-input');
    await op.discardChanges(s);
    await op.closeSession(s);
  });

  it('confirmed commit with persist outlives its session; persist-id cancels or confirms it from another', async () => {
    const running = async (s: NetconfSession) => (await op.getConfig(s, 'running', `<nvo xmlns="${LAB}"/>`)).toString();
    for (const finish of ['cancel', 'confirm'] as const) {
      const a = await open(both);
      await op.editConfig(a, { target: 'candidate', config: vlans(1, () => `persisted-${finish}`) });
      await op.commit(a, { confirmed: true, confirmTimeoutS: 600, persist: `token-${finish}` });
      await op.closeSession(a);
      const b = await open(both);
      expect(await running(b)).toContain(`persisted-${finish}`);
      if (finish === 'cancel') {
        await op.cancelCommit(b, 'token-cancel');
        expect(await running(b)).not.toContain('persisted-cancel');
      } else {
        await op.commit(b, { persistId: 'token-confirm' });
        const wrong = await rejection(op.cancelCommit(b, 'token-confirm'));
        expect(wrong).toBeInstanceOf(RpcError); // nothing left to cancel
        expect(await running(b)).toContain('persisted-confirm');
      }
      await op.closeSession(b);
    }
  });

  it('gates operations by capability: no :writable-running on a candidate device', async () => {
    const s = await open(both);
    const err = await rejection(op.editConfig(s, { target: 'running', config: vlans(1, () => 'x') }));
    expect((err as NetconfError).netconfCode).toBe('capability-missing');
    expect(err.message).toContain(':writable-running');
    expect((await op.get(s, `<nvo xmlns="${LAB}"/>`)).localName).toBe('data');
    await op.validate(s, 'candidate');
    await op.closeSession(s);
  });

  it('kill-session ends another session, whose next RPC fails with session-lost instead of hanging', async () => {
    const a = await open(both);
    const b = await open(both);
    await op.killSession(a, b.sessionId);
    const err = await rejection(op.getConfig(b, 'running', undefined, 30_000));
    expect((err as NetconfError).netconfCode).toBe('session-lost');
    await op.closeSession(a);
  });

  it('reads a 5 MB reply (thousands of chunks split across reads)', async () => {
    const s = await open(big);
    const name = (i: number) => `${String(i).padStart(4, '0')}-${'n'.repeat(1300)}`;
    await op.editConfig(s, { target: 'candidate', config: vlans(4000, name) });
    await op.commit(s);
    const data = await op.getConfig(s, 'running', `<nvo xmlns="${LAB}"/>`, 120_000);
    const nvo = children(data, 'nvo')[0]!;
    const got = children(nvo, 'vlan');
    expect(got).toHaveLength(4000);
    expect(data.toString().length).toBeGreaterThan(5_000_000);
    expect(got[3999]!.textContent).toContain(name(4000));
    await op.closeSession(s);
  }, 180_000);

  it('times out an unanswered RPC, and a dropped session rejects every pending RPC well before its timeout', async () => {
    const s = await open(big);
    process.kill(big.netconfdPid, 'SIGSTOP'); // the device stops answering
    try {
      const slow = await rejection(op.getConfig(s, 'running', `<nvo xmlns="${LAB}"><vlan><id>1</id></vlan></nvo>`, 1_000));
      expect((slow as NetconfError).netconfCode).toBe('timeout');
      expect((slow as NetconfError).transient).toBe(true);
      const started = Date.now();
      const pending = Array.from({ length: 20 }, () => rejection(s.rpc('<get-config><source><running/></source></get-config>', { timeoutMs: 60_000 })));
      await new Promise((r) => setTimeout(r, 200));
      expect(s.inFlight).toBe(20);
      process.kill(big.netconfdPid, 'SIGKILL'); // the device dies: netconf-subsystem and the SSH channel go with it
      const errors = await Promise.all(pending);
      expect(Date.now() - started).toBeLessThan(30_000);
      for (const e of errors) expect((e as NetconfError).netconfCode).toBe('session-lost');
      expect(s.inFlight).toBe(0);
      const after = await rejection(op.get(s));
      expect((after as NetconfError).netconfCode).toBe('session-lost');
    } finally {
      try {
        process.kill(big.netconfdPid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  });
});

describe('edit-config parameters (RFC 6241 §7.2) on netconfd', () => {
  const NC = 'urn:ietf:params:xml:ns:netconf:base:1.0';
  // The candidate's VLANs as "id=name", in order.
  const candidate = async (s: NetconfSession) => {
    const nvo = children(await op.getConfig(s, 'candidate', `<nvo xmlns="${LAB}"/>`), 'nvo')[0];
    return nvo ? children(nvo, 'vlan').map((v) => `${text(child(v, 'id'))}=${text(child(v, 'name')) ?? ''}`) : [];
  };
  // The candidate holds exactly VLANs 1=a and 2=b (whatever earlier tests committed is removed first).
  async function baseline(s: NetconfSession) {
    await op.discardChanges(s);
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}" xmlns:nc="${NC}" nc:operation="remove"/>` });
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>1</id><name>a</name></vlan><vlan><id>2</id><name>b</name></vlan></nvo>` });
    expect(await candidate(s)).toEqual(['1=a', '2=b']);
  }
  // Every RPC body the session sends, as written on the wire (inside <rpc>).
  function recordSent(s: NetconfSession): string[] {
    const sent: string[] = [];
    const rpc = s.rpc.bind(s);
    s.rpc = (body, o) => {
      sent.push(body);
      return rpc(body, o);
    };
    return sent;
  }

  it('test-option test-only checks the edit and leaves the candidate unchanged, good edit or bad', async () => {
    const s = await open(both);
    expect(s.has(VALIDATE_11)).toBe(true); // netconfd announces :validate:1.1, which brought test-only
    await baseline(s);
    const sent = recordSent(s);
    await op.editConfig(s, { target: 'candidate', testOption: 'test-only', config: `<nvo xmlns="${LAB}"><vlan><id>3</id><name>c</name></vlan><vlan><id>1</id><name>renamed</name></vlan></nvo>` });
    expect(sent[0]).toContain('<test-option>test-only</test-option>');
    expect(await candidate(s)).toEqual(['1=a', '2=b']);
    const bad = await rejection(op.editConfig(s, { target: 'candidate', testOption: 'test-only', config: `<nvo xmlns="${LAB}"><vlan><id>5000</id></vlan></nvo>` }));
    expect(bad).toBeInstanceOf(RpcError);
    expect((bad as RpcError).path).toContain("vlan[nvo:id='5000']");
    expect(await candidate(s)).toEqual(['1=a', '2=b']);
    // test-then-set (the RFC's default) sets what passes the test
    await op.editConfig(s, { target: 'candidate', testOption: 'test-then-set', config: `<nvo xmlns="${LAB}"><vlan><id>3</id><name>c</name></vlan></nvo>` });
    expect(await candidate(s)).toEqual(['1=a', '2=b', '3=c']);
    // a device with only :validate:1.0 has no test-only: refused before anything is sent
    s.serverCapabilities.delete(VALIDATE_11);
    const before = sent.length;
    const missing = await rejection(op.editConfig(s, { target: 'candidate', testOption: 'test-only', config: `<nvo xmlns="${LAB}"/>` }));
    expect((missing as NetconfError).netconfCode).toBe('capability-missing');
    expect(missing.message).toContain(':validate:1.1');
    expect(sent.length).toBe(before);
    await op.discardChanges(s);
    await op.closeSession(s);
  });

  it('default-operation replace: the <config> replaces the configuration it names', async () => {
    const s = await open(both);
    await baseline(s);
    await op.editConfig(s, { target: 'candidate', defaultOperation: 'replace', config: `<nvo xmlns="${LAB}"><vlan><id>9</id><name>only</name></vlan></nvo>` });
    expect(await candidate(s)).toEqual(['9=only']);
    await op.discardChanges(s);
    await op.closeSession(s);
  });

  it('default-operation none: only elements with an operation attribute change the datastore', async () => {
    const s = await open(both);
    await baseline(s);
    const none = (config: string) => op.editConfig(s, { target: 'candidate', defaultOperation: 'none', config: `<nvo xmlns="${LAB}">${config}</nvo>` });
    // a new list entry without an operation is not created (the RFC's "unaffected")
    await none('<vlan><id>7</id><name>x</name></vlan>');
    expect(await candidate(s)).toEqual(['1=a', '2=b']);
    // create and delete act where they are named
    await none('<vlan nc:operation="create"><id>4</id><name>d</name></vlan><vlan nc:operation="delete"><id>2</id></vlan>');
    expect(await candidate(s)).toEqual(['1=a', '4=d']);
    // and create of an entry that exists is refused (data-exists), changing nothing
    const exists = await rejection(none('<vlan nc:operation="create"><id>1</id><name>again</name></vlan>'));
    expect((exists as RpcError).tag).toBe('data-exists');
    expect(await candidate(s)).toEqual(['1=a', '4=d']);
    // Deviation of yuma123 2.13, pinned so a change shows: under none it still sets a new value of
    // an existing leaf (the RFC says the datastore is unaffected). nvo sends none nowhere.
    await none('<vlan><id>1</id><name>changed-under-none</name></vlan>');
    expect(await candidate(s)).toEqual(['1=changed-under-none', '4=d']);
    await op.discardChanges(s);
    await op.closeSession(s);
  });

  it('error-option is sent as given; netconfd rejects the whole edit under each of them', async () => {
    const s = await open(both);
    await baseline(s);
    const sent = recordSent(s);
    for (const errorOption of ['stop-on-error', 'continue-on-error', 'rollback-on-error'] as const) {
      sent.length = 0;
      const err = await rejection(
        op.editConfig(s, { target: 'candidate', errorOption, config: `<nvo xmlns="${LAB}"><vlan><id>11</id><name>ok</name></vlan><vlan><id>5000</id><name>bad</name></vlan></nvo>` }),
      );
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(new RegExp(`^<edit-config><target><candidate/></target><error-option>${errorOption}</error-option><config`));
      expect((err as RpcError).tag).toBe('invalid-value');
      expect(await candidate(s)).toEqual(['1=a', '2=b']);
    }
    sent.length = 0;
    await op.editConfig(s, { target: 'candidate', errorOption: 'rollback-on-error', config: `<nvo xmlns="${LAB}"><vlan><id>11</id><name>ok</name></vlan></nvo>` });
    expect(sent[0]).toContain('<error-option>rollback-on-error</error-option>');
    expect(await candidate(s)).toEqual(['1=a', '2=b', '11=ok']);
    await op.discardChanges(s);
    await op.closeSession(s);
  });
});
