"""olah (a self-hosted Hugging Face mirror, offline mode) serving local git repos as a real Hub
endpoint on loopback, for tests that download over HTTP.

olah lives in a venv of its own (it pins psutil 5.9.8): `scripts/install_olah.sh` creates
`.olah-venv`, or set ZOO_OLAH_CLI to an olah-cli binary. huggingface_hub reads HF_ENDPOINT at
import, so everything that talks to the endpoint runs in a subprocess with its own env.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
SKIP_REASON = "olah is not installed: run scripts/install_olah.sh (creates .olah-venv) or set ZOO_OLAH_CLI"


def olah_cli() -> Path | None:
    env = os.environ.get("ZOO_OLAH_CLI")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT / ".olah-venv" / "bin" / "olah-cli")
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def commit_repo(src: Path, message: str) -> str:
    """Make ``src`` (a repo folder under MIRRORS/models/ORG/NAME) a one-commit git repo; its sha."""
    if shutil.which("git") is None:
        import pytest

        pytest.skip("git is not installed")
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "-c", "user.name=zoo", "-c", "user.email=zoo@localhost", "commit", "-q", "-m", message)
    return git(src, "rev-parse", "HEAD")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_proxy_opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def serve(base: Path, repo: str, sha: str) -> Iterator[str]:
    """olah-cli on a free loopback port, offline, serving base/mirrors/models/*; yields its URL."""
    cli, port = olah_cli(), _free_port()
    cfg = base / "olah.toml"
    cfg.write_text(
        "[basic]\n"
        f'host = "127.0.0.1"\nport = {port}\n'
        f'repos-path = "{base / "olah-repos"}"\n'
        f'mirror-netloc = "127.0.0.1:{port}"\nmirror-lfs-netloc = "127.0.0.1:{port}"\n'
        f'mirrors-path = ["{base / "mirrors"}"]\n'
        "[accessibility]\noffline = true\n"
    )
    log = open(base / "olah.log", "wb")
    proc = subprocess.Popen([str(cli), "-c", str(cfg)], cwd=base, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    # model_info needs an explicit revision on olah: without one it asks upstream (401).
    probe = f"{url}/api/models/{repo}/revision/main"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"olah-cli exited ({proc.returncode}): {(base / 'olah.log').read_text()[-2000:]}")
            try:
                with no_proxy_opener().open(probe, timeout=2) as r:
                    if json.load(r).get("sha") == sha:
                        break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"olah-cli did not serve {probe} within 90 s: {(base / 'olah.log').read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def child_env(endpoint: str, hf_home: Path, offline: bool = False) -> dict[str, str]:
    """The environment of a subprocess that talks to ``endpoint`` with a cache of its own."""
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE", "ZOO_SKIP_HASH"}}
    env.update(
        HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_HUB_OFFLINE="1" if offline else "0",
        HF_HUB_DISABLE_TELEMETRY="1", ZOO_MODELS_DIR=str(hf_home.parent / "zoo-models-empty"),
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", TOKENIZERS_PARALLELISM="false",
    )
    return env


def run_child(code: str, env: dict[str, str], timeout: int = 300) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)
    assert res.returncode == 0, f"child failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
    return res.stdout
