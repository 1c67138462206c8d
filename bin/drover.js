#!/usr/bin/env node
// The installed CLI, and what run.ts supervises: registers tsx's loader (playbooks are TypeScript), then
// runs drover in this process.
import { register } from 'tsx/esm/api';

register();
await import('../runner/cli/process-main.ts');
