#!/usr/bin/env node
// The `cadre` executable: TypeScript sources run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../runtime/cli/main.ts');
