import type { AgentDefinition } from './types.ts';
import { salesAgent } from './sales/index.ts';
import { deliveryAgent } from './delivery/index.ts';
import { engineeringAgent } from './engineering/index.ts';
import { executiveAgent } from './executive/index.ts';
import { marketingAgent } from './marketing/index.ts';

/** The five department agents of every runtime (unless `createRuntime` is given others). */
export const DEFAULT_AGENTS: readonly AgentDefinition[] = Object.freeze([salesAgent, deliveryAgent, engineeringAgent, executiveAgent, marketingAgent]);
