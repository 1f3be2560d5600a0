/**
 * The node flags the API process runs with, wherever it is started: the Dockerfile's CMD, the chart's
 * `api.command`, the ECS task definition in docs/deploy-ecs.md, `npm start`, and the test and benchmark
 * harnesses (test/helm/app-contract.test.ts keeps them equal).
 *
 * `--max-semi-space-size=8` (MB; V8's default on 64-bit is 16): a young generation that cannot grow past
 * 8 MB per semi-space. V8 starts incremental marking early whenever the old generation's room below its
 * limit is smaller than the young generation's capacity. After an idle period (the memory reducer's GC)
 * the limit is about 1.5x the API's ~46 MB of live objects, ~24 MB of room: with 16 MB semi-spaces V8
 * then marked and compacted every 200-500 ms under load (5-12 ms pauses plus marking steps), the
 * cache-hit p99 at half the reference's rate going from ~3 ms to 13-58 ms; with 8 MB it does not
 * (docs/decisions.md, "The API's young generation is capped at 8 MB"). The hit path keeps almost
 * nothing past a young collection, so smaller young collections cost little (~0.6 ms each).
 */
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
