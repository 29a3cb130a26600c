"""Kernel overhead: an authenticated JSON GET through the full middleware stack vs a bare aiohttp handler.

Run by hand: ``.venv/bin/python bench/kernel_overhead.py``. Needs wrk (apt-get install wrk).
Both servers are single aiohttp processes; wrk runs on one thread. Rounds alternate so
noise hits both sides alike. Target: kernel time per request <= 1.3x the bare handler's.
"""

from __future__ import annotations

import statistics

from _common import HERE, free_port, require_wrk, spawn, start_mongo, wait_http, wrk


def main(rounds: int = 5) -> None:
    require_wrk()
    mongo = start_mongo()
    bare_port, kernel_port = free_port(), free_port()
    bare = spawn(str(HERE / "_servers.py"), "bare", str(bare_port))
    kern = spawn(str(HERE / "_servers.py"), "kernel", str(kernel_port), mongo.uri)
    try:
        token = next(line.split()[1] for line in kern.stdout if line.startswith("token"))
        wait_http(f"http://127.0.0.1:{bare_port}/api/bench")
        header = f"Authorization: Bearer {token}"
        results = {"bare": [], "kernel": []}
        wrk(f"http://127.0.0.1:{bare_port}/api/bench", seconds=2)  # warm-up
        wrk(f"http://127.0.0.1:{kernel_port}/api/bench", seconds=2, header=header)
        for _ in range(rounds):
            results["bare"].append(wrk(f"http://127.0.0.1:{bare_port}/api/bench"))
            results["kernel"].append(wrk(f"http://127.0.0.1:{kernel_port}/api/bench", header=header))
        rps = {k: statistics.median(r["rps"] for r in v) for k, v in results.items()}
        p99 = {k: statistics.median(r["p99_ms"] for r in v) for k, v in results.items()}
        # One ratio per adjacent pair of rounds: a noisy spell hits both sides of a pair alike.
        ratios = sorted(b["rps"] / k["rps"] for b, k in zip(results["bare"], results["kernel"], strict=True))
        ratio = statistics.median(ratios)
        print(f"bare handler      : {rps['bare']:9.0f} req/s   p99 {p99['bare']:.2f} ms")
        print(f"kernel, with auth : {rps['kernel']:9.0f} req/s   p99 {p99['kernel']:.2f} ms")
        spread = f"rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x"
        verdict = "OK" if ratio <= 1.3 else "MISSED"
        print(f"time per request, kernel / bare: {ratio:.2f}x median, {spread}  (target <= 1.30x) {verdict}")
    finally:
        for process in (bare, kern):
            process.terminate()
            process.wait(10)
        mongo.stop()


if __name__ == "__main__":
    main()
