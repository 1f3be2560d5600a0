/** API process entry point (HTTP on Fastify). Filled in by the service work. */
export {};
