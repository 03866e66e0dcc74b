"""Wall time of `zoo list` and `zoo info` as a user runs them (fresh interpreter each time).

    python benchmarks/bench_listing.py [--runs 10]

Target: under 0.5 s each on the project's 2-core machines.
"""
import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    for cmd in (["list"], ["info", "sd15"]):
        times = []
        for _ in range(args.runs + 1):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "zoo", *cmd], check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        times = times[1:]  # first run warms the OS file cache
        print(f"zoo {' '.join(cmd):10s} median {statistics.median(times):.3f} s  "
              f"min {min(times):.3f}  max {max(times):.3f}  ({args.runs} runs)")


if __name__ == "__main__":
    main()
