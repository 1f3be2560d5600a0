/**
 * The node flags the API process runs with, wherever it is started: the Dockerfile's CMD, the chart's
 * `api.command`, the ECS task definition in docs/deploy-ecs.md, `npm start`, and the test and benchmark
 * harnesses (test/helm/app-contract.test.ts keeps them equal).
 *
 * `--max-semi-space-size=8` (MB; V8's default on 64-bit is 16): a young generation that cannot grow past
 * 8 MB per semi-space. V8 starts incremental marking early whenever the old generation's room below its
 * limit is smaller than the young generation's capacity; with 16 MB semi-spaces V8 marked and compacted
 * every 200-500 ms under load (docs/decisions.md, "The API's young generation is capped at 8 MB"). The
 * hit path keeps almost nothing past a young collection, so smaller young collections cost little.
 *
 * `--heap-growing-percent=50`: after each full GC the old generation's limit is 1.5x what survived. V8
 * otherwise derives the factor from how fast the old generation fills; the hit path promotes almost
 * nothing, and after the memory reducer's GC of an idle period the limit was seen 5-9 MB above ~46 MB
 * live, under the young generation's capacity: every round of load after an idle minute then marked and
 * compacted every ~500 ms (16 times per 7.5 s at 700 hits/s, p99 22-31 ms); with the flag 0-2 times
 * (p99 3.6-4.5 ms after the first round; docs/decisions.md, "The API's old generation grows by a fixed
 * 1.5x"). Cost: ~13% of closed-loop req/s at 100 connections, where V8 would grow the heap faster.
 */
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=50'];
