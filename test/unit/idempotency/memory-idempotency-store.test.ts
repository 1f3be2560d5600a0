import { MemoryIdempotencyStore } from '../../../src/idempotency/memory-idempotency-store.adapter';
import { idempotencyStoreContract } from '../../helpers/idempotency-store.contract';

idempotencyStoreContract('MemoryIdempotencyStore', async () => ({
  store: new MemoryIdempotencyStore(),
  cleanup: async () => undefined,
}));
