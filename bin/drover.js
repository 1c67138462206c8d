#!/usr/bin/env node
// The installed CLI: registers tsx's loader, then runs the same entry point as `npx tsx run`.
import { register } from 'tsx/esm/api';

register();
await import('../run.ts');
