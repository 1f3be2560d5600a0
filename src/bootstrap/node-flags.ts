/**
 * The node flags the API process runs with, wherever it is started: the Dockerfile's CMD, the chart's
 * `api.command`, the ECS task definition in docs/deploy-ecs.md, `npm start`, and the test and benchmark
 * harnesses (test/helm/app-contract.test.ts keeps them equal). V8 refuses them in NODE_OPTIONS.
 *
 * `--single-threaded-gc`: no background GC threads. On the benchmark's 2 cores the API with V8's
 * concurrent marking fell, after idle periods, into runs of major collections every ~200 ms (5-12 ms
 * each, plus marking steps on the main thread), which made the cache-hit p99 under moderate load 5-10x
 * the reference's; with this flag no invocation showed them (docs/decisions.md, "The API runs with
 * --single-threaded-gc"). The API's heap is small (~50 MB); the worker, whose work is native, keeps the
 * defaults.
 */
export const API_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
