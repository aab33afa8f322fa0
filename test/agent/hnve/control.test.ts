// The agent's control socket on an agent that is not connected (no proxy needed for these): bad
// commands are refused naming the field, a VM without a session is 481, a request while not
// connected is the agent's own 408, and `port` and `state` answer. The full path (INVITE, INFO, BYE
// through the proxies) is exercised by test/lab/demo.test.ts.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest, serveControl, type AgentState } from '../../../src/agent/hnve/control.ts';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';

const dir = mkdtempSync(join(tmpdir(), 'nvo-ctl-'));
const socket = join(dir, 'agent.sock');
const ports = new Map<string, string>();
let server: Server;

beforeAll(async () => {
  const agent = new HnveAgent({ nve: 'h1', secret: 'secret-of-h1-0123456789', urls: ['ws://127.0.0.1:9'], dataPlane: new RecorderDataPlane(), ports });
  server = await serveControl(agent, socket, [{ mac: '02:00:00:00:01:01', cid: 'acme' }], ports);
});
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('nvo agent control socket', () => {
  it('is for its owner only', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('refuses bad commands naming the field', async () => {
    const bad = await controlRequest(socket, { op: 'info', mac: 'not-a-mac' } as never);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.error)).toMatch(/"field":"mac"/);
    const op = await controlRequest(socket, { op: 'dance' } as never);
    expect(op.status).toBe(400);
    expect(JSON.stringify(op.error)).toMatch(/"field":"op"/);
    const refer = await controlRequest(socket, { op: 'refer' });
    expect(refer.status).toBe(400);
    expect(refer.reason).toMatch(/exactly one of to and vtep/);
    const cid = await controlRequest(socket, { op: 'invite', mac: '02:00:00:00:09:09' });
    expect(cid.status).toBe(400);
    expect(JSON.stringify(cid.error)).toMatch(/"field":"cid"/);
  });

  it('answers 481 for a VM without a session and 408 while not connected', async () => {
    expect((await controlRequest(socket, { op: 'bye', mac: '02:00:00:00:01:01' })).status).toBe(481);
    const inv = await controlRequest(socket, { op: 'invite', mac: '02:00:00:00:01:01' });
    expect(inv.status).toBe(408);
  });

  it('takes a port for a VM and shows its state', async () => {
    expect((await controlRequest(socket, { op: 'port', mac: '02:00:00:00:0A:0B', port: 'vm-vm9' })).status).toBe(200);
    expect(ports.get('02:00:00:00:0a:0b')).toBe('vm-vm9');
    const st = await controlRequest(socket, { op: 'state' });
    expect(st.status).toBe(200);
    const s = st.state as AgentState;
    expect(s.nve).toBe('h1');
    expect(s.connected).toBe(false);
    expect(s.sessions).toEqual([]);
  });
});
