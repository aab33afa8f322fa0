// The hNVE's side of the protocol, thin: connect, REGISTER, INVITE a VM, BYE it, and hear what the
// tenant proxy pushes (NOTIFY mac-table). The full agent (data plane, INFO, REFER) grows from here.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from '../../proxy/protocol/messages.ts';
import { ProtocolClient } from '../../proxy/transport/ws-client.ts';

export interface MessagingClientOptions {
  url: string;
  nve: string;
  secret: string;
  proxy?: string;
  timeoutMs?: number;
  onNotify?: (req: Request) => void;
}

export class MessagingClient {
  readonly notifications: Request[] = [];
  private regCallId = randomUUID();

  private constructor(readonly client: ProtocolClient) {}

  static async connect(o: MessagingClientOptions): Promise<MessagingClient> {
    let self: MessagingClient | null = null;
    const client = await ProtocolClient.connect(o.url, {
      identity: o.nve,
      secret: o.secret,
      peer: o.proxy ?? 'tenant-proxy',
      timeoutMs: o.timeoutMs,
      onRequest: (req) => {
        self?.notifications.push(req);
        o.onNotify?.(req);
        return { status: 200 };
      },
    });
    self = new MessagingClient(client);
    return self;
  }

  register(expires?: number): Promise<Response> {
    return this.client.request('REGISTER', expires === undefined ? {} : { expires }, { callId: this.regCallId });
  }

  /** INVITE for one VM; the call id names the session (give one to retry the same session). */
  invite(vm: { mac: string; ip?: string }, cid: string, o: { callId?: string; onProvisional?: (r: Response) => void } = {}): Promise<Response & { callId: string }> {
    const callId = o.callId ?? randomUUID();
    return this.client.request('INVITE', { cid, vm }, { callId, onProvisional: o.onProvisional }).then((r) => ({ ...r, callId }));
  }

  bye(callId: string): Promise<Response> {
    return this.client.request('BYE', {}, { callId });
  }

  options(): Promise<Response> {
    return this.client.request('OPTIONS', {}, {});
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
