// A proxy's memory after a full garbage collection, through the V8 inspector (the proxies are
// started with --inspect on a free loopback port): RSS read without it counts garbage not yet
// collected, which makes a per-VM projection meaningless.
import WebSocket from 'ws';

export interface HeapSample {
  rss: number;
  heapUsed: number;
}

export async function heapAfterGc(inspectorUrl: string): Promise<HeapSample> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((res, rej) => {
      const my = ++id;
      const onMsg = (d: WebSocket.RawData) => {
        const m = JSON.parse(d.toString()) as { id?: number; result?: unknown; error?: { message: string } };
        if (m.id !== my) return;
        ws.off('message', onMsg);
        if (m.error) rej(new Error(`${method}: ${m.error.message}`));
        else res(m.result);
      };
      ws.on('message', onMsg);
      ws.send(JSON.stringify({ id: my, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage'); // the second one frees what the first only finalized
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    const m = JSON.parse(r.result.value) as { rss: number; heapUsed: number };
    return { rss: m.rss, heapUsed: m.heapUsed };
  } finally {
    // a connected debugger keeps the process from exiting: never leave one behind
    ws.close();
  }
}
