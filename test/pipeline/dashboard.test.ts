// Bull Board at /queues in a real browser (Debian's chromium, headless, driven by playwright-core),
// behind the admin token; /metrics parsed by the official Prometheus Python client (Debian
// python3-prometheus-client) as an independent reader. Devices are SIMULATED (harness.ts); the INVITE
// goes hNVE client → tenant proxy → network proxy → this pipeline, so its latency is the proxy's own.
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRoutes } from '../../src/api/routes/metrics.ts';
import { queuesRoutes } from '../../src/api/routes/queues.ts';
import { buildAdminApp } from '../../src/api/server.ts';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { NetworkProxy } from '../../src/proxy/network/network-proxy.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { HNVES, INVENTORY, SECRETS, startTenantProxy } from '../proxy/harness.ts';
import { harness, vlans, type Harness } from './harness.ts';
import { sample, scrape } from '../support/prometheus.ts';

const TOKEN = 'dashboard-test-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';
let h: Harness;
let store: InventoryStore;
let app: FastifyInstance;
let base: string;
let inviteStatus = 0;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  h = await harness({ commitMs: 50 });
  store = InventoryStore.open({ prefix: h.t.prefix });
  app = await buildAdminApp({ store, token: TOKEN, extraRoutes: [queuesRoutes([h.pipeline.queue]), metricsRoutes()] });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  // Some work, so the queue and the metrics have something to show.
  const targets = [];
  for (let i = 0; i < 20; i++) {
    const revision = await h.pipeline.store.setContribution('tor1', `s${i}`, vlans(200 + i));
    await h.pipeline.port.request([{ device: 'tor1', revision }], { sessionId: `s${i}` });
    targets.push({ device: 'tor1', revision });
  }
  await h.pipeline.port.waitApplied(targets, { deadlineMs: 30_000, sessionId: 'dash' });

  // A real INVITE through both proxies (h3 is in pod2: tor3, wan1, tgw1 — not tor1, counted above).
  const inventory = new InventoryStore(h.t.redis, h.t.prefix);
  await inventory.apply(INVENTORY);
  const nves = new NveStore(h.t.redis, h.t.k, inventory);
  for (const n of HNVES) await nves.put(n);
  const np = new NetworkProxy({ id: 'np1', secret: 'np1-shared-secret', redis: h.t.redis, k: h.t.k, inventory, sync: h.pipeline.port, syncDeadlineMs: 30_000, sweepIntervalMs: 0 });
  const npPort = await np.listening();
  closers.push(() => np.close());
  const tp = await startTenantProxy(h.t, inventory, [{ id: 'np1', url: `ws://127.0.0.1:${npPort}`, secret: 'np1-shared-secret', pods: ['*'] }], { branchTimeoutMs: 60_000 });
  closers.push(() => tp.close());
  const client = await MessagingClient.connect({ url: tp.url, nve: 'h3', secret: SECRETS.h3, proxy: 'tp1', timeoutMs: 60_000 });
  closers.push(() => client.close());
  expect((await client.register(3600)).status).toBe(200);
  inviteStatus = (await client.invite({ mac: '02:00:00:00:0d:01' }, 'acme')).status;

  // A transient fault (retried twice, then through) and a change the device refuses (no retry).
  await h.sim.injectFaults('tor7', 2);
  const flaky = await h.pipeline.store.setContribution('tor7', 'flaky', vlans(70));
  await h.pipeline.port.request([{ device: 'tor7', revision: flaky }], { sessionId: 'flaky' });
  await h.pipeline.port.waitApplied([{ device: 'tor7', revision: flaky }], { deadlineMs: 30_000, sessionId: 'flaky' });
  const bad = await h.pipeline.store.setContribution('tor8', 'bad', vlans(5000));
  await h.pipeline.port.request([{ device: 'tor8', revision: bad }], { sessionId: 'bad' });
  await expect(h.pipeline.port.waitApplied([{ device: 'tor8', revision: bad }], { deadlineMs: 30_000, sessionId: 'bad' })).rejects.toMatchObject({ code: 'device-error' });
}, 120_000);
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await app?.close();
  await store?.close();
  await h?.close();
});

describe('queue dashboard and metrics', () => {
  it('/queues needs the admin token', async () => {
    const anon = await fetch(`${base}/queues`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const api = await fetch(`${base}/queues/api/queues`, { headers: { authorization: 'Bearer wrong' } });
    expect(api.status).toBe(401);
    const ok = await fetch(`${base}/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<html');
  });

  it.skipIf(!existsSync(CHROMIUM))('Bull Board renders the device queue in headless Chromium', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
      const res = await page.goto(`${base}/queues`);
      expect(res?.status()).toBe(200);
      await page.getByText('device-sync').first().waitFor({ timeout: 30_000 });
      await page.getByText('device-sync').first().click();
      // The queue page lists completed jobs by their per-device ids.
      await page.goto(`${base}/queues/queue/device-sync?status=completed`);
      await page.getByText(/sync\.tor1\.\d+/).first().waitFor({ timeout: 30_000 });
      expect(await page.title()).toBe('nvo queues');
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('/metrics is Prometheus text with the pipeline metrics', async () => {
    const samples = await scrape(`${base}/metrics`);
    const one = (name: string, labels: Record<string, string>) => sample(samples, name, labels);
    const commits = await h.sim.commits('tor1');
    expect(commits).toBeGreaterThan(0);
    expect(one('nvo_device_commits_total', { device: 'tor1' })).toBe(commits);
    expect(one('nvo_device_changes_per_commit_sum', { device: 'tor1' })).toBe(20);
    expect(one('nvo_device_sync_duration_seconds_count', { device: 'tor1', outcome: 'ok' })).toBeGreaterThan(0);
    expect(one('nvo_queue_jobs', { queue: 'device-sync', state: 'completed' })).toBeGreaterThan(0);
    // The network proxy recorded its one INVITE itself, by status class.
    expect(inviteStatus).toBe(200);
    expect(one('nvo_invite_duration_seconds_count', { status: '2xx' })).toBe(1);
    expect(one('nvo_invite_duration_seconds_sum', { status: '2xx' })).toBeGreaterThan(0);
    expect(one('nvo_invite_duration_seconds_count', { status: '5xx' })).toBeUndefined();
    expect(one('nvo_device_sync_retries_total', { device: 'tor7' })).toBe(2);
    expect(one('nvo_device_sync_failures_total', { device: 'tor8', kind: 'refused' })).toBe(1);
    expect(one('nvo_device_sync_retries_total', { device: 'tor8' })).toBeUndefined();
  });
});
