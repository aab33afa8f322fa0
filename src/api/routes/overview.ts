// The overview as read-only routes (DESIGN "Around it"): the tenant proxy's view (NVEs, sessions,
// tenants) and the network proxy's (devices, VNIs, MAC entries per member), the same rows as
// `nvo show`. Filters: ?vni=N, ?tenant=CID. Open to readers like the inventory's GETs.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.ts';
import { deviceRows, vniRows } from '../../proxy/views/network-view.ts';
import { macView } from '../../proxy/views/mac-view.ts';
import { parseVniFilter, type ViewFilter, type ViewSources } from '../../proxy/views/sources.ts';
import { nveRows, sessionRows, tenantRows } from '../../proxy/views/tenant-view.ts';

const query = { vni: 'only this VNI (1-16777215)', tenant: 'only this tenant (CID)' };

function filterOf(req: FastifyRequest): ViewFilter {
  const q = req.query as Record<string, unknown>;
  const tenant = typeof q.tenant === 'string' && q.tenant !== '' ? q.tenant : undefined;
  return { vni: parseVniFilter(q.vni), ...(tenant !== undefined ? { tenant } : {}) };
}

export function overviewRoutes(sources: ViewSources) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const doc = (summary: string) => ({ config: { openapi: { summary, tag: 'overview', query } } });
    app.get('/overview/nves', doc('hNVEs and aNVEs: registered or not, the tenant-proxy process holding the connection, expiry, sessions'), async (req) => ({ items: await nveRows(sources, filterOf(req)) }));
    app.get('/overview/sessions', doc('sessions: NVE, tenant, MAC, VNI, VLAN, group, encapsulation, state'), async (req) => ({ items: await sessionRows(sources, filterOf(req)) }));
    app.get('/overview/tenants', doc("the tenant proxy's view: per tenant its VNI, hNVEs and VMs"), async (req) => ({ items: await tenantRows(sources, filterOf(req)) }));
    app.get('/overview/vnis', doc('per VNI: tenant, VRF, encapsulation, group, VLAN per pod, members, MAC count'), async (req) => ({ items: await vniRows(sources, filterOf(req)) }));
    app.get('/overview/devices', doc("the network proxy's view: per device VLANs, VNIs, tunnels, MACs, groups, desired vs applied revision, sync state"), async (req) => ({
      items: await deviceRows(sources, filterOf(req)),
    }));
    app.get('/overview/devices/:id', { config: { openapi: { summary: 'one device in the network proxy view', tag: 'overview' } } }, async (req) => {
      const id = (req.params as { id: string }).id;
      const [row] = await deviceRows(sources, {}, id);
      if (!row || (row.role === null && row.desiredRevision === 0 && row.appliedRevision === 0)) throw notFound('device', id);
      return row;
    });
    app.get('/overview/macs', { config: { openapi: { summary: 'per member of a VNI (hNVEs, aNVEs) its MAC entries: applied/pending/stale, acknowledged revision', tag: 'overview', query: { vni: 'the VNI', tenant: 'or the tenant (CID) whose VNI' }, errors: [404] } } }, async (req) => {
      const f = filterOf(req);
      const vni = await sources.macViewVni(f, { vni: 'vni', tenant: 'tenant' });
      const v = await macView(sources, vni);
      if (!v || (f.tenant !== undefined && v.cid !== f.tenant)) throw notFound('VNI', String(vni));
      return v;
    });
  };
}
