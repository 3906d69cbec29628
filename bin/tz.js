#!/usr/bin/env node
// The `tz` operator CLI. TypeScript sources run through tsx's loader, registered here
// so `tz` works from any directory without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
