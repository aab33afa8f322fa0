// Every command group, in the order `nvo --help` lists them. A new group is one file and one line here.
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerAgent } from './agent.ts';
import { registerApply } from './apply.ts';
import { registerDevice } from './device.ts';
import { registerDeviceRead } from './device-read.ts';
import { registerDeviceSync } from './device-sync.ts';
import { registerGatewayAgent } from './gateway-agent.ts';
import { registerInventory } from './inventory.ts';
import { registerLab } from './lab.ts';
import { registerMove } from './move.ts';
import { registerNetsim } from './netsim.ts';
import { registerNve } from './nve.ts';
import { registerPod } from './pod.ts';
import { registerProxy } from './proxy.ts';
import { registerServe } from './serve.ts';
import { registerSettings } from './settings.ts';
import { registerShow } from './show.ts';
import { registerTenant } from './tenant.ts';
import { registerVni } from './vni.ts';
import { registerWorker } from './worker.ts';

export type RegisterCommands = (program: Command, ctx: CliContext) => void;

export const commandGroups: RegisterCommands[] = [registerTenant, registerDevice, registerDeviceSync, registerDeviceRead, registerPod, registerVni, registerNve, registerSettings, registerApply, registerInventory, registerServe, registerWorker, registerProxy, registerShow, registerNetsim, registerLab, registerAgent, registerGatewayAgent, registerMove];
