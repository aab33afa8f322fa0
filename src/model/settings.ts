// Fleet-wide settings that are part of the inventory.
import { z } from 'zod';
import { ranges } from './fields.ts';
import { VNI_MAX, VNI_MIN } from './net.ts';

export const settingsSchema = z.strictObject({
  vniPool: ranges(VNI_MIN, VNI_MAX, 'VNI').default(['10000-19999']),
});

export type Settings = z.output<typeof settingsSchema>;
export const defaultSettings = (): Settings => settingsSchema.parse({});
