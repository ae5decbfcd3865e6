"""Peak resident memory of a process and of its child processes, sampled from ``/proc``.

Used by ``benchmarks/throughput.py`` (the memory of ``jepa fit`` and of its loader workers);
Linux only.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path


def _status(pid: int) -> dict[str, int]:
    """kB figures of ``/proc/<pid>/status`` (VmRSS, RssAnon, RssFile, RssShmem); {} if gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {
        k: int(v)
        for k, v in re.findall(r"^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+) kB", text, re.M)
    }


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class MemorySampler:
    """Peak resident memory (kB) of a process and, summed, of its child processes."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak = {"anon": 0, "file": 0, "workers_anon": 0, "workers_file": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            main = _status(self.pid)
            if main:
                workers = [_status(c) for c in _children(self.pid)]
                sample = {
                    "anon": main.get("RssAnon", 0) + main.get("RssShmem", 0),
                    "file": main.get("RssFile", 0),
                    "workers_anon": sum(
                        w.get("RssAnon", 0) + w.get("RssShmem", 0) for w in workers
                    ),
                    "workers_file": sum(w.get("RssFile", 0) for w in workers),
                }
                for key, value in sample.items():
                    self.peak[key] = max(self.peak[key], value)
            self._stop.wait(self.every_s)
