/**
 * Issue 6, hostile input (8-10) and access (11-14) against one queue-mode stack: two API processes
 * sharing a private Redis, a worker, RS256 tokens, loopback listeners for image_url. Every answer is
 * checked for the security headers by the client (item 14).
 */
import { after, before } from 'node:test';
import { accessSuite } from './support/access.suite';
import { startAttackStack, type AttackStack } from './support/attack-stack';
import { hostileInputSuite } from './support/hostile-input.suite';
import { stopAll } from './support/stack';

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack();
});

after(async () => {
  await stack?.close();
  await stopAll(stack?.redis);
});

hostileInputSuite(() => stack);
accessSuite(() => stack);
