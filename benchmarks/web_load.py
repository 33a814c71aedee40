"""A bounded load test of `gankit serve` on 127.0.0.1 (latency, not quality).

    .venv/bin/python benchmarks/web_load.py [--requests 50] [--concurrency 50]

Makes a tiny run of MNIST-sized (28x28) DCGAN samples, starts the real server (`gankit serve
--port 0` as its own process), launches a training from the API (so a run trains while the
load runs) and keeps a page's live stream of that run open, then:

1. asks for 64 samples twenty times in a row (warm: the first request loads the generator)
   and prints the median and the slowest;
2. sends ``--requests`` sampling requests (64 samples each, every one a different seed) with
   ``--concurrency`` of them in flight at once, and prints the latency percentiles, the
   throughput and the errors (any status but 200 is one);
3. checks that the stream delivered the training's rows during the load and that the run list
   still answers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import gankit

TINY = {"data.image_size": 28, "train.steps": 20, "model.g_width": 32, "model.d_width": 16,
        "train.sample_steps": [], "train.log_every": 10}


def start_server(runs: Path, studies: Path) -> tuple[subprocess.Popen, str, str]:
    """`gankit serve --port 0` in its own process; returns it, its address and its token."""
    server = subprocess.Popen([sys.executable, "-m", "gankit", "serve", "--runs-dir", str(runs), "--studies-dir",
                               str(studies), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    for line in server.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+)/#token=(\S+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            return server, found.group(1), found.group(2)
    raise SystemExit("the server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs, studies = Path(tmp) / "runs", Path(tmp) / "studies"
        gankit.train(overrides=TINY, runs_dir=runs, name="mnist-sized", progress=False, say=lambda _: None)
        print("(the tiny run's lines above are its training log)", file=sys.stderr)
        server, base, token = start_server(runs, studies)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            client = httpx.Client(base_url=base, timeout=60, headers=auth)
            launched = client.post("/api/runs", json={"preset": "digits", "name": "training", "overrides": {
                "train.steps": 100000, "train.log_every": 10, "model.g_width": 16, "model.d_width": 8,
                "train.sample_steps": []}})
            assert launched.status_code == 202, launched.text
            streamed: list[dict] = []

            def follow() -> None:
                try:
                    with httpx.stream("GET", f"{base}/api/runs/training/stream", timeout=None,
                                      headers=auth) as response:
                        for line in response.iter_lines():
                            if line.startswith("data: "):
                                streamed.append(json.loads(line[6:]))
                except httpx.HTTPError:  # the server goes away at the end
                    pass

            threading.Thread(target=follow, daemon=True).start()
            url = "/api/runs/mnist-sized/samples.png"
            sequential = []
            for seed in range(21):
                start = time.perf_counter()
                assert client.get(url, params={"n": 64, "seed": seed}).status_code == 200
                sequential.append(time.perf_counter() - start)
            first, warm = sequential[0], sequential[1:]

            def one(seed: int) -> tuple[int, float]:
                start = time.perf_counter()
                status = httpx.get(f"{base}{url}", params={"n": 64, "seed": 1000 + seed}, timeout=120,
                                   headers=auth).status_code
                return status, time.perf_counter() - start

            rows_before = len(streamed)
            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(one, range(args.requests)))
            wall = time.perf_counter() - start
            rows_during = len(streamed) - rows_before
            listing = client.get("/api/runs")
            client.post("/api/runs/training/stop")
            latencies = [seconds for _, seconds in results]
            errors = sum(status != 200 for status, _ in results)
            ms = lambda s: f"{1000 * s:.0f} ms"  # noqa: E731
            print(f"gankit serve on {base}, OMP_NUM_THREADS=1, {os.cpu_count()} cores, while a run trains:")
            print(f"  64 MNIST-sized samples, one request at a time: first {ms(first)} (loads G); "
                  f"warm median {ms(statistics.median(warm))}, slowest {ms(max(warm))}")
            print(f"  {args.requests} requests, {args.concurrency} at once: errors {errors}; latency median "
                  f"{ms(statistics.median(latencies))}, p95 {ms(percentile(latencies, 0.95))}, max {ms(max(latencies))}; "
                  f"{args.requests / wall:.1f} requests/s ({wall:.1f} s)")
            print(f"  live stream of the training run: {rows_during} rows arrived during the load; "
                  f"run list answered {listing.status_code}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
