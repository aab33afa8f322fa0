// Forking (DESIGN: "the INVITE succeeds only when all of them succeed"): the request goes to every
// network proxy responsible for the pod at once; when one fails, the ones that succeeded get BYE and
// the ones that never answered get CANCEL, and the final status names the failing branch.
import type { ProxyLog } from '../log.ts';
import type { Method, Response } from '../protocol/messages.ts';
import { ProtocolClient } from '../transport/ws-client.ts';

export interface NetworkProxyConfig {
  id: string;
  url: string;
  secret: string;
  /** Pods it serves; '*' for all. */
  pods: string[];
}

export interface BranchResult {
  proxy: string;
  res: Response;
}

export class NetworkLinks {
  private readonly clients = new Map<string, Promise<ProtocolClient>>();

  constructor(
    private readonly me: string,
    private readonly proxies: readonly NetworkProxyConfig[],
    private readonly timeoutMs: number,
    private readonly log: ProxyLog,
  ) {}

  forPod(pod: string): NetworkProxyConfig[] {
    return this.proxies.filter((p) => p.pods.includes('*') || p.pods.includes(pod));
  }

  private async client(p: NetworkProxyConfig): Promise<ProtocolClient> {
    const cur = this.clients.get(p.id);
    if (cur) {
      const c = await cur.catch(() => null);
      if (c?.isOpen) return c;
    }
    const next = ProtocolClient.connect(p.url, { identity: this.me, secret: p.secret, peer: p.id, timeoutMs: this.timeoutMs });
    this.clients.set(p.id, next);
    next.catch(() => this.clients.delete(p.id));
    return next;
  }

  async send(p: NetworkProxyConfig, method: Method, callId: string, body: Record<string, unknown>, onProvisional?: (r: Response) => void): Promise<BranchResult> {
    try {
      const c = await this.client(p);
      return { proxy: p.id, res: await c.request(method, body, { callId, onProvisional }) };
    } catch (e) {
      this.log.warn({ proxy: p.id, err: (e as Error).message }, 'network proxy unreachable');
      return { proxy: p.id, res: { tid: null, status: 503, reason: `network proxy ${p.id} unreachable: ${(e as Error).message}`, body: {}, retryAfter: 5 } };
    }
  }

  /** Forks and, on any failure, rolls back the other branches. Returns every branch's answer and the failing one. */
  async fork(targets: NetworkProxyConfig[], method: Method, callId: string, body: Record<string, unknown>, onProvisional?: (r: Response) => void) {
    const results = await Promise.all(targets.map((p) => this.send(p, method, callId, body, onProvisional)));
    const failed = results.find((r) => r.res.status >= 300 && r.res.status !== 487) ?? results.find((r) => r.res.status >= 300);
    return { results, failed };
  }

  /** Undoes the branches of a failed or cancelled INVITE: BYE where it succeeded, CANCEL where it never answered. */
  async rollback(targets: NetworkProxyConfig[], results: BranchResult[], callId: string): Promise<void> {
    await Promise.all(
      results.map((r) => {
        const p = targets.find((t) => t.id === r.proxy)!;
        if (r.res.status >= 200 && r.res.status < 300) return this.send(p, 'BYE', callId, {});
        // CANCEL where the outcome there is unknown: no answer (408) or unreachable (a 503 made here,
        // tid null). A 503 the network proxy sent (a pool exhausted) was undone there already, and a
        // CANCEL would mark the call for minutes: the retry Retry-After invites would end in 487.
        if (r.res.status === 408 || (r.res.status === 503 && r.res.tid === null)) return this.send(p, 'CANCEL', callId, {});
        return null;
      }),
    );
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) await (await c.catch(() => null))?.close();
    this.clients.clear();
  }
}
