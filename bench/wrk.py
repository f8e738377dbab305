"""The load generator of the benchmarks: `wrk` (C, epoll) with a Lua script, so the clients do not cap the servers.

A Python client on the same two CPUs ran out of CPU at 800-1,160 requests/s against a route that `wrk` drives at
6,000/s and more: it measured itself. `wrk` sends every request with its own delivery id (the signature covers only
the body, so one signed body serves every request), counts the answers by status, and keeps the delivery ids the
server acknowledged (the intake's 202 names them), so a benchmark can check each one was stored.

`wrk` is the Debian/Ubuntu package `wrk` (`apt-get install wrk`); `--rate` (a fixed arrival rate) is not in it, so
fixed-rate load is sent by `bench.fleet`'s own paced sender instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

LUA = r"""
-- Arguments after "--": body file, output file, run tag, then header name/value pairs.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = io.open(args[1], "rb")
  body = file:read("*a")
  file:close()
  prefix = args[3] .. "-" .. tid .. "-"
  fixed = {}
  for i = 4, #args, 2 do fixed[args[i]] = args[i + 1] end
  fixed["Content-Type"] = fixed["Content-Type"] or "application/json"
  sent = 0
  acked = {}
  statuses = {}
end

function request()
  sent = sent + 1
  fixed["X-GitHub-Delivery"] = prefix .. sent
  return wrk.format("POST", nil, fixed, body)
end

function response(status, headers, answer)
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  if status == 202 then
    local id = string.match(answer, '"delivery_id":%s*"([^"]+)"')
    if id then acked[#acked + 1] = id end
  end
end
"""

# done() runs in the main Lua state, which never saw init()'s arguments: the output path is baked into the script.
DONE = r"""
function done(summary, latency, requests)
  local out = io.open("%(out)s", "w")
  out:write(string.format('{"requests": %%d, "duration_us": %%d, ', summary.requests, summary.duration))
  out:write(string.format('"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ',
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
  out:write(string.format('"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, ',
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:write('"statuses": {')
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do merged[status] = (merged[status] or 0) + count end
  end
  local first = true
  for status, count in pairs(merged) do
    if not first then out:write(", ") end
    out:write(string.format('"%%s": %%d', status, count))
    first = false
  end
  out:write('}, "acked": [')
  first = true
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("acked")) do
      if not first then out:write(", ") end
      out:write('"' .. id .. '"')
      first = false
    end
  end
  out:write("]}\n")
  out:close()
end
"""


@dataclass(frozen=True)
class Run:
    """One `wrk` run: rate of answers, latency percentiles (ms) and the acknowledged delivery ids."""

    label: str
    requests: int
    seconds: float
    p50: float
    p90: float
    p99: float
    statuses: dict[str, int]
    errors: dict[str, int]
    acked: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def available() -> str | None:
    return shutil.which("wrk")


def run(
    url: str,
    body: bytes,
    headers: dict[str, str],
    seconds: float,
    tag: str,
    label: str = "",
    threads: int = 2,
    connections: int = 8,
    timeout: float = 10.0,
) -> Run:
    """`wrk -t threads -c connections -d seconds` POSTing `body` with `headers`, each request its own delivery id
    `<tag>-<thread>-<n>` (tags must differ between runs against one database)."""
    binary = available()
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)")
    with tempfile.TemporaryDirectory(prefix="pvm-wrk-") as tmp:
        folder = Path(tmp)
        (folder / "body").write_bytes(body)
        out = folder / "out.json"
        script = LUA + DONE % {"out": str(out)}
        (folder / "script.lua").write_text(script)
        pairs = [item for name, value in headers.items() for item in (name, value)]
        command = [
            binary,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            f"{timeout:.0f}s",
            "-s",
            str(folder / "script.lua"),
            url,
            "--",
            str(folder / "body"),
            str(out),
            tag,
            *pairs,
        ]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout + 60, check=False)
        if finished.returncode != 0 or not out.exists():
            raise SystemExit(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
        data = json.loads(out.read_text())
    return Run(
        label=label,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50=data["p50_us"] / 1000,
        p90=data["p90_us"] / 1000,
        p99=data["p99_us"] / 1000,
        statuses={str(k): int(v) for k, v in data["statuses"].items()},
        errors={k: int(v) for k, v in data["errors"].items() if v},
        acked=list(data["acked"]),
    )
