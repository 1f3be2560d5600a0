"""The machine's fp32 GEMM rate and memory bandwidth for `npm run bench`: best of several n x n x n numpy
matmuls (OpenBLAS, as many threads as OPENBLAS_NUM_THREADS allows) and best of several copies of a
256 MB float32 array (read + write bytes per second). Prints
{"n": .., "threads": .., "gflops": .., "best_ms": .., "copy_gb_s": ..}."""
import json
import os
import sys
import time

import numpy as np


def best_of(repeats, fn):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    gemm = best_of(repeats, lambda: a @ b)
    src = np.ones(64 * 1024 * 1024, dtype=np.float32)
    dst = np.empty_like(src)
    copy = best_of(max(2, repeats // 2), lambda: np.copyto(dst, src))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", str(os.cpu_count()))
    print(json.dumps({
        "n": n,
        "threads": int(threads),
        "gflops": 2 * n**3 / gemm / 1e9,
        "best_ms": gemm * 1000,
        "copy_gb_s": 2 * src.nbytes / copy / 1e9,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
