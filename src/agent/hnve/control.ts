// The running agent's local control channel: a UNIX socket taking one JSON command per line and
// answering one JSON line each, so a person (`nvo agent ctl`) or the lab demo can make a running
// agent INVITE, INFO, BYE or REFER, tell it a VM's port on this host (before a move brings the VM
// here), and read what it holds. Only local users who may open the socket (mode 0600) can drive it.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { z } from 'zod';
import { NvoError } from '../../errors.ts';
import { id, ip, mac } from '../../model/fields.ts';
import { parseInput } from '../../model/validate.ts';
import type { HnveAgent, VmSpec } from './hnve-agent.ts';

const byMac = { mac, callId: z.string().min(1).optional() };
export const controlCommand = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('invite'), mac, cid: id.optional(), ip: ip.optional(), port: z.string().min(1).max(15).optional() }),
  z.strictObject({ op: z.literal('info'), ...byMac, add: z.array(mac).default([]), delete: z.array(mac).default([]) }),
  z.strictObject({ op: z.literal('bye'), ...byMac }),
  z.strictObject({ op: z.literal('refer'), to: id.optional(), vtep: ip.optional() }).refine((c) => (c.to === undefined) !== (c.vtep === undefined), { message: 'give exactly one of to and vtep', path: ['to'] }),
  z.strictObject({ op: z.literal('port'), mac, port: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name') }),
  z.strictObject({ op: z.literal('state') }),
]);
export type ControlCommand = z.input<typeof controlCommand>;

export interface AgentState {
  nve: string;
  vtep: string;
  connected: boolean;
  sessions: { callId: string; cid: string; mac: string; macs: string[]; vni: number | null; vlan: number | null; pending: boolean }[];
  tables: { cid: string; vni: number; revision: number; rows: { mac: string; vtep: string }[]; floods: string[] }[];
  /** What the data plane holds, read back from it (the kernel for the Linux one). */
  dataPlane: unknown;
  ports: unknown;
}

/** `vms`: the VMs the agent's file knows (INVITE by MAC takes the rest from there); `ports`: the map the agent attaches VM ports from. */
export function serveControl(agent: HnveAgent, socket: string, vms: readonly VmSpec[], ports: Map<string, string>): Promise<Server> {
  const sessionOf = (m: string, callId?: string) => {
    const s = [...agent.sessions.values()].find((x) => (callId ? x.callId === callId : x.mac.toLowerCase() === m) && !x.pending);
    if (!s) throw new NvoError('not-found', `${agent.opts.nve} has no session for VM ${m}`);
    return s;
  };
  const run = async (c: z.output<typeof controlCommand>): Promise<Record<string, unknown>> => {
    switch (c.op) {
      case 'invite': {
        const known = vms.find((v) => v.mac.toLowerCase() === c.mac.toLowerCase());
        const cid = c.cid ?? known?.cid;
        if (!cid) throw new NvoError('invalid-input', `cid: VM ${c.mac} is not in the agent's file; name its cid`, [{ field: 'cid', reason: 'required for a VM the file does not list' }]);
        const r = await agent.invite({ mac: c.mac, cid, ip: c.ip ?? known?.ip, port: c.port ?? known?.port });
        return { status: r.status, reason: r.reason, callId: r.callId, body: r.body };
      }
      case 'info': {
        const s = sessionOf(c.mac, c.callId);
        const r = await agent.info(s.callId, { add: c.add, delete: c.delete });
        return { status: r.status, reason: r.reason, callId: s.callId, body: r.body };
      }
      case 'bye': {
        const s = sessionOf(c.mac, c.callId);
        const r = await agent.bye(s.callId);
        return { status: r.status, reason: r.reason, callId: s.callId };
      }
      case 'refer': {
        const r = await agent.refer(c.to ? { to: c.to } : { vtep: c.vtep! });
        return { status: r.status, reason: r.reason, body: r.body };
      }
      case 'port':
        ports.set(c.mac.toLowerCase(), c.port);
        return { status: 200, reason: 'OK' };
      case 'state':
        return { status: 200, reason: 'OK', state: await agentState(agent) };
    }
  };
  const server = createServer((conn) => {
    let buf = '';
    let chain = Promise.resolve();
    conn.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        // Commands on one connection are answered in order.
        chain = chain.then(async () => {
          let answer: Record<string, unknown>;
          try {
            let raw: unknown;
            try {
              raw = JSON.parse(line);
            } catch {
              throw new NvoError('invalid-input', 'command: not JSON', [{ field: 'command', reason: 'one JSON object per line' }]);
            }
            answer = await run(parseInput(controlCommand, raw, 'control command'));
          } catch (e) {
            const err = e instanceof NvoError ? e : new NvoError('internal', (e as Error).message);
            answer = { status: err.code === 'invalid-input' ? 400 : err.code === 'not-found' ? 481 : 500, reason: err.message, error: err.toJSON() };
          }
          if (!conn.destroyed) conn.write(`${JSON.stringify(answer)}\n`);
        });
      }
    });
    conn.on('error', () => undefined);
  });
  if (existsSync(socket)) rmSync(socket); // a stale socket of a killed agent
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      chmodSync(socket, 0o600);
      resolve(server);
    });
  });
}

export async function agentState(agent: HnveAgent): Promise<AgentState> {
  let dataPlane: unknown = null;
  let ports: unknown = null;
  try {
    const dp = agent.plane();
    [dataPlane, ports] = await Promise.all([dp.read(), dp.readPorts()]);
  } catch (e) {
    dataPlane = { error: (e as Error).message };
  }
  return {
    nve: agent.opts.nve,
    vtep: agent.vtep,
    connected: agent.connected,
    sessions: [...agent.sessions.values()].map((s) => ({
      callId: s.callId,
      cid: s.cid,
      mac: s.mac,
      macs: s.macs,
      vni: typeof s.answer.vni === 'number' ? s.answer.vni : null,
      vlan: typeof s.answer.vlan === 'number' ? s.answer.vlan : null,
      pending: Boolean(s.pending),
    })),
    tables: [...agent.tables.values()].map((t) => ({ cid: t.cid, vni: t.vni, revision: t.revision, rows: [...t.rows].map(([m, v]) => ({ mac: m, vtep: v })), floods: [...t.floods] })),
    dataPlane,
    ports,
  };
}

/** Sends one command to an agent's control socket and returns its answer. */
export function controlRequest(socket: string, command: ControlCommand, timeoutMs = 60_000): Promise<Record<string, unknown> & { status: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new NvoError('timeout', `agent control ${socket}: no answer to ${command.op} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    conn.on('connect', () => conn.write(`${JSON.stringify(command)}\n`));
    conn.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      conn.end();
      try {
        resolve(JSON.parse(buf.slice(0, i)) as Record<string, unknown> & { status: number });
      } catch (e) {
        reject(new NvoError('internal', `agent control ${socket}: bad answer: ${(e as Error).message}`));
      }
    });
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(new NvoError('unavailable', `agent control ${socket}: ${e.message}`));
    });
  });
}
