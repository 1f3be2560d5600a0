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
 * live, under the young generation's capacity (docs/decisions.md, "The API's old generation grows by a
 * fixed 1.5x"). It also keeps the peak RSS under the benchmark's 300 MB target, which 2x and 3x did not.
 *
 * `--no-allocation-site-pretenuring`: V8 otherwise decides, per allocation site, to allocate straight in
 * the old generation when its objects survive young collections, and it revisits that only after a full
 * GC in which under 10% of the old generation survived, which never happens in a process holding ~46 MB
 * of long-lived state. A burst (100 connections in flight) made request-scoped sites old-allocated for
 * good: every request's objects, and its body's ArrayBuffers (counted against the old generation's limit
 * as external memory), then went to the old generation, and the API marked and compacted every ~0.8 s at
 * 700 hits/s, p99 20-28 ms, in 8 of 19 processes (docs/decisions.md, "Issue 12, cache-hit
 * tail: no pretenuring, no memory reducer").
 *
 * `--no-memory-reducer`: V8's memory reducer runs full GCs when the process turns idle, in a mode that
 * drops every map no live object uses; the optimized code that checks those maps (the request path's,
 * after its requests are gone) is thrown away, and the next load ran ~260 TurboFan compilations on the
 * two cores it shares with its clients (p99 12-35 ms in its first measured second). Its cost: memory
 * freed by one load is not returned before the next; the API's peak RSS over the quick benchmark's
 * workloads read 285-289 MB with the flag against 228 MB without (target < 300).
 */
export const API_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=8',
  '--heap-growing-percent=50',
  '--no-allocation-site-pretenuring',
  '--no-memory-reducer',
];
