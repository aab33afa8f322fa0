// Use cases 1 and 2 over HTTP: create (POST), replace (PUT), delete, list and show for tenants,
// devices, pods and CID mappings (/vnis); the settings; and the whole inventory at once.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Device } from '../../model/device.ts';
import { hideDeviceSecrets } from '../../model/device-secrets.ts';
import { INVENTORY_KINDS, KIND_INFO, inventorySchema, type EntityOf, type InventoryKind } from '../../model/inventory.ts';
import { settingsSchema } from '../../model/settings.ts';
import type { InventoryStore } from '../../store/inventory-store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** True when the request carries the admin token (or the server runs without auth). */
    isAdmin: boolean;
  }
}

// Device passwords are shown only to holders of the admin token: reads are open to anyone who can reach the API.
function redact<K extends InventoryKind>(kind: K, entity: EntityOf[K], req: FastifyRequest): EntityOf[K] {
  if (kind !== 'device' || req.isAdmin) return entity;
  return hideDeviceSecrets(entity as Device, 'omit') as EntityOf[K];
}

const changeSchema = z.object({ kind: z.enum(['settings', ...INVENTORY_KINDS]), id: z.string(), action: z.enum(['created', 'replaced', 'deleted']) });
const truthy = (v: unknown) => v === '' || v === 'true' || v === '1';

export function inventoryRoutes(store: InventoryStore) {
  return async function routes(app: FastifyInstance): Promise<void> {
    for (const kind of INVENTORY_KINDS) {
      const info = KIND_INFO[kind];
      const base = `/${info.section}`;
      const item = `${base}/:${info.idField}`;
      const schema = info.schema as z.ZodType;
      const tag = info.plural;
      const idOfReq = (req: FastifyRequest) => (req.params as Record<string, string>)[info.idField]!;

      app.get(base, { config: { openapi: { summary: `list ${info.plural}`, tag, response: z.object({ items: z.array(schema) }) } } }, async (req) => ({
        items: (await store.list(kind)).map((e) => redact(kind, e, req)),
      }));
      app.get(item, { config: { openapi: { summary: `show one ${info.what}`, tag, response: schema } } }, async (req) => redact(kind, await store.show(kind, idOfReq(req)), req));
      app.post(base, { config: { openapi: { summary: `create a ${info.what}`, tag, body: schema, response: schema, status: 201, errors: [409] } } }, async (req, reply) => {
        const created = await store.create(kind, req.body);
        return reply.status(201).header('location', `${base}/${encodeURIComponent(String((created as Record<string, unknown>)[info.idField]))}`).send(created);
      });
      app.put(item, { config: { openapi: { summary: `replace a ${info.what} (the id in the body may be left out)`, tag, body: schema, response: schema, errors: [409] } } }, async (req) =>
        store.replace(kind, idOfReq(req), req.body),
      );
      app.delete(item, { config: { openapi: { summary: `delete a ${info.what} (409 while something still uses it)`, tag, status: 204, errors: [409] } } }, async (req, reply) => {
        await store.remove(kind, idOfReq(req));
        return reply.status(204).send();
      });
    }

    app.get('/settings', { config: { openapi: { summary: 'show the settings', tag: 'settings', response: settingsSchema } } }, async () => store.getSettings());
    app.put('/settings', { config: { openapi: { summary: 'replace the settings', tag: 'settings', body: settingsSchema, response: settingsSchema } } }, async (req) => store.setSettings(req.body));

    app.get('/inventory', { config: { openapi: { summary: 'the whole inventory, as `PUT /inventory` and `nvo apply` take it', tag: 'inventory', response: inventorySchema } } }, async (req) => {
      const doc = await store.export();
      return { ...doc, devices: doc.devices.map((d) => redact('device', d, req)) };
    });
    app.put(
      '/inventory',
      {
        config: {
          openapi: {
            summary: 'make the store match a whole inventory document; answers what changed (nothing on a repeat)',
            tag: 'inventory',
            body: inventorySchema,
            response: z.object({ dryRun: z.boolean(), changes: z.array(changeSchema) }),
            query: { dryRun: 'report what would change, change nothing' },
            errors: [409],
          },
        },
      },
      async (req) => {
        const dryRun = truthy((req.query as Record<string, unknown>).dryRun);
        return { dryRun, changes: await store.apply(req.body, { dryRun }) };
      },
    );
  };
}
