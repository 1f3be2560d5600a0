"""The machine's fp32 GEMM rate for `npm run bench`: best of several n x n x n numpy matmuls (OpenBLAS,
as many threads as OPENBLAS_NUM_THREADS allows). Prints {"n": .., "threads": .., "gflops": ..}."""
import json
import os
import sys
import time

import numpy as np


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", str(os.cpu_count()))
    print(json.dumps({"n": n, "threads": int(threads), "gflops": 2 * n**3 / best / 1e9, "best_ms": best * 1000}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
