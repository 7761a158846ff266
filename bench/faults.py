"""Runs the `sessions` example against a redis-server that is stopped and restarted under load,
and checks what clients saw. Started by bench/faults.sh, which builds the example; the
settings come from its environment (see there).

Phases, each PHASE_SECONDS long under wrk load on GET /user with a valid access token:
  before    Redis up
  outage    Redis stopped at the phase's start (`SHUTDOWN NOSAVE`: it forgets everything)
  recovery  the same redis-server restarted on the same port at the phase's start
  after     Redis up since the recovery phase
A second client logs in, refreshes, calls /user and logs out in a loop, and presents tokens
revoked (logged out) before the outage: access tokens on /user, refresh tokens on /refresh
and /session. The server's RSS is sampled from /proc/PID/status throughout.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

PHASES = ("before", "outage", "recovery", "after")
# What the second client sends, each at least once per phase (else the run proves nothing).
ROUTES = ("login", "refresh", "user", "logout", "revoked access /user",
          "revoked refresh /refresh", "revoked refresh /session")
PHASE_SECONDS = int(os.environ.get("PHASE_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "16"))
PORT = int(os.environ.get("PORT", "18094"))
REDIS_PORT = int(os.environ.get("REDIS_PORT", "18095"))
ON_ERROR = os.environ.get("ON_ERROR", "reject")
SERVER = os.environ["SERVER"]
WORK = os.environ["WORK"]
SUMMARY = os.environ.get("SUMMARY", "")
LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults.lua")
# Pass conditions that are numbers.
RECOVERY_LIMIT = float(os.environ.get("RECOVERY_LIMIT", "5"))  # seconds after the restart
RSS_SLACK_PERCENT, RSS_SLACK_KB = 10, 4096  # the last sample vs the one after warm-up

# What each request may be answered, per phase. Valid tokens: 200, or 503 while Redis cannot
# answer. Revoked tokens: 401, or 503 while Redis cannot answer; never 200. Logins touch no
# store. Nothing may ever be a 500.
DOWN = {"outage", "recovery"}


def allowed(route, phase):
    if route == "login":
        return {200}
    revoked = route.startswith("revoked")
    if phase in DOWN:
        return {401, 503} if revoked else {200, 503}
    return {401} if revoked else {200}


def log(message):
    print(message, file=sys.stderr, flush=True)


class Client:
    """One keep-alive connection to the server; a dropped connection is reopened."""

    def __init__(self):
        self.connection = None

    def request(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for _ in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                self.connection = None
        return "transport error", b""

    def login(self):
        status, body = self.request("POST", "/login", body='{"username":"test","password":"test"}')
        return status, (json.loads(body) if status == 200 else None)


def pair_tokens(pair):
    return pair["access_token"], pair["refresh_token"]


class Run:
    def __init__(self):
        self.phase = "setup"
        self.counts = defaultdict(Counter)  # (phase, route) -> statuses
        self.rss = []  # (seconds since start, phase, kB)
        self.started = time.monotonic()
        self.restarted_at = None
        self.first_ok = {}  # route -> seconds from the restart to its first 200
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def record(self, route, status):
        with self.lock:
            self.counts[(self.phase, route)][status] += 1
            if (status == 200 and self.restarted_at is not None and route not in self.first_ok
                    and self.phase in ("recovery", "after")):
                self.first_ok[route] = time.monotonic() - self.restarted_at


def second_client(run, revoked):
    """Logins, refreshes, calls and logouts, and the revoked tokens, until the run ends."""
    client = Client()
    turn = 0
    while not run.stop.is_set():
        status, pair = client.login()
        run.record("login", status)
        if pair:
            access, refresh = pair_tokens(pair)
            status, body = client.request("POST", "/refresh", refresh)
            run.record("refresh", status)
            if status == 200:
                access, refresh = pair_tokens(json.loads(body))
            run.record("user", client.request("GET", "/user", access)[0])
            run.record("logout", client.request("POST", "/logout", access)[0])
        old_access, old_refresh = revoked[turn % len(revoked)]
        run.record("revoked access /user", client.request("GET", "/user", old_access)[0])
        run.record("revoked refresh /refresh",
                   client.request("POST", "/refresh", old_refresh)[0])
        run.record("revoked refresh /session",
                   client.request("GET", "/session", old_refresh)[0])
        turn += 1
        time.sleep(0.005)


def probe_load_route(run, token):
    """From the restart on, GET /user with the load's token every 10 ms until it is 200."""
    client = Client()
    while not run.stop.is_set():
        if run.restarted_at is not None:
            if client.request("GET", "/user", token)[0] == 200:
                run.first_ok.setdefault("load /user (probe)", time.monotonic() - run.restarted_at)
                return
        time.sleep(0.01)


def sample_rss(run, pid):
    while not run.stop.wait(0.5):
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    kb = int(line.split()[1])
                    run.rss.append((time.monotonic() - run.started, run.phase, kb))


def start_redis():
    process = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=open(f"{WORK}/redis.log", "a"), stderr=subprocess.STDOUT)
    for _ in range(100):
        ping = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True)
        if ping.stdout.strip() == b"PONG":
            return process
        time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def stop_redis(process):
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True)
    process.wait(timeout=10)


def start_server():
    url = f"redis://127.0.0.1:{REDIS_PORT}/"
    env = dict(os.environ, ROCKET_PORT=str(PORT), ROCKET_ADDRESS="127.0.0.1",
               ROCKET_LOG_LEVEL=os.environ.get("LOG_LEVEL", "critical"),
               ROCKET_PASETO=f'{{revocation={{store="redis",url="{url}",on_error="{ON_ERROR}"}}}}')
    server = subprocess.Popen([SERVER], env=env, stdout=open(f"{WORK}/server.log", "w"),
                              stderr=subprocess.STDOUT)
    client = Client()
    for _ in range(200):
        if client.request("GET", "/user")[0] == 401:
            return server
        if server.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"the sessions example did not start; its log: {WORK}/server.log")


def wrk(token):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{PHASE_SECONDS}s", "-s", LUA,
         f"http://127.0.0.1:{PORT}/user"],
        env=dict(os.environ, TOKEN=token), capture_output=True, text=True)
    if output.returncode != 0:
        raise SystemExit(f"wrk failed: {output.stdout}{output.stderr}")
    output = output.stdout
    line = next(l for l in output.splitlines() if l.startswith("statuses "))
    return json.loads(line[len("statuses "):])


def revoke_some(client):
    """Four logins logged out before the outage: two with the access, two with the refresh
    token. Each pair's tokens are all revoked (the whole login is)."""
    revoked = []
    for i in range(4):
        _, pair = client.login()
        access, refresh = pair_tokens(pair)
        status, _ = client.request("POST", "/logout", access if i % 2 == 0 else refresh)
        assert status == 200, f"logout before the outage answered {status}"
        revoked.append((access, refresh))
    return revoked


def main():
    redis = start_redis()
    server = start_server()
    run = Run()
    try:
        client = Client()
        _, pair = client.login()
        load_token = pair["access_token"]
        revoked = revoke_some(client)
        threads = [threading.Thread(target=second_client, args=(run, revoked)),
                   threading.Thread(target=probe_load_route, args=(run, load_token)),
                   threading.Thread(target=sample_rss, args=(run, server.pid))]
        load = {}
        for phase in PHASES:
            # The phase starts before its event, so that what clients see from then on counts
            # in it.
            run.phase = phase
            if phase == "outage":
                stop_redis(redis)
            elif phase == "recovery":
                run.restarted_at = time.monotonic()
                redis = start_redis()
            if phase == "before":
                for thread in threads:
                    thread.start()
            log(f"faults: {phase} ({PHASE_SECONDS:g} s)")
            load[phase] = wrk(load_token)
        run.stop.set()
        for thread in threads:
            thread.join()
    finally:
        run.stop.set()
        server.terminate()
        server.wait()
        stop_redis(redis)
    return report(run, load)


def rss_verdict(run):
    before = [kb for _, phase, kb in run.rss if phase == "before"]
    baseline = before[-1] if before else run.rss[0][2]  # the end of the first phase
    last = run.rss[-1][2]
    slack = max(baseline * RSS_SLACK_PERCENT // 100, RSS_SLACK_KB)
    last_phase = [kb for _, phase, kb in run.rss if phase == PHASES[-1]] or [last]
    return {"after_warmup_kb": baseline, "last_kb": last, "peak_kb": max(kb for *_, kb in run.rss),
            "last_phase_growth_kb": last_phase[-1] - last_phase[0],
            "samples": len(run.rss), "limit_kb": baseline + slack}


def check(run, load, rss, server_log):
    failures = []
    for phase in PHASES:
        statuses = {int(s) for s in load[phase]["counts"]}
        if statuses - allowed("load", phase):
            failures.append(f"{phase}: the load route answered {sorted(statuses)}")
        if load[phase]["socket_errors"]:
            failures.append(f"{phase}: wrk saw {load[phase]['socket_errors']} socket errors")
    outage = load["outage"]
    if outage["late_200"]:
        failures.append(f"outage: the load route was answered 200 after a 503 "
                        f"({outage['late_200']} times): checks answered without Redis")
    if set(outage["last"]) != {503}:
        failures.append(f"outage: the load route's last answers were {outage['last']}, not 503: "
                        "checks answered without Redis")
    for phase in PHASES:
        for route in ROUTES:
            if not run.counts[(phase, route)]:
                failures.append(f"{phase}: no {route} request was answered")
    for (phase, route), statuses in sorted(run.counts.items()):
        if phase not in PHASES:
            continue
        unexpected = {s: n for s, n in statuses.items() if s not in allowed(route, phase)}
        if unexpected:
            failures.append(f"{phase}: {route} answered {unexpected}")
        if route.startswith("revoked") and statuses.get(200):
            failures.append(f"{phase}: a revoked token was accepted ({route})")
    if any(s == 500 for c in run.counts.values() for s in c) or any(
            "500" in load[p]["counts"] for p in PHASES):
        failures.append("a 500 was answered")
    if "panicked" in server_log:
        failures.append("the server's log says it panicked")
    for route in ("load /user (probe)", "refresh"):
        seconds = run.first_ok.get(route)
        if seconds is None or seconds > RECOVERY_LIMIT:
            failures.append(f"recovery: no 200 on {route} within {RECOVERY_LIMIT:g} s of the "
                            f"restart ({seconds})")
    if rss["last_kb"] > rss["limit_kb"]:
        failures.append(f"RSS grew from {rss['after_warmup_kb']} kB to {rss['last_kb']} kB")
    return failures


def report(run, load):
    server_log = open(f"{WORK}/server.log", errors="replace").read()
    rss = rss_verdict(run)
    failures = check(run, load, rss, server_log)
    routes = ["load /user (wrk)", *ROUTES]
    rows = {("load /user (wrk)", p): Counter({int(s): n for s, n in load[p]["counts"].items()})
            for p in PHASES}
    rows.update({(route, phase): c for (phase, route), c in run.counts.items() if phase in PHASES})
    print(f"| route | {' | '.join(PHASES)} |")
    print(f"|---|{'---|' * len(PHASES)}")
    for route in routes:
        cells = [" ".join(f"{s}×{n}" for s, n in sorted(rows.get((route, p), {}).items(),
                                                         key=lambda item: str(item[0])))
                 or "–" for p in PHASES]
        print(f"| {route} | {' | '.join(cells)} |")
    print()
    print("load /user: " + ", ".join(
        f"{p} {sum(load[p]['counts'].values()) / PHASE_SECONDS:,.0f} req/s "
        f"(p50 {load[p]['p50_ms']:.1f} ms, p99 {load[p]['p99_ms']:.1f} ms)" for p in PHASES))
    for route, seconds in sorted(run.first_ok.items()):
        print(f"first 200 after the restart: {route}: {seconds * 1000:.0f} ms")
    print(f"RSS (kB): after warm-up {rss['after_warmup_kb']}, last {rss['last_kb']}, peak "
          f"{rss['peak_kb']}, limit {rss['limit_kb']}; {rss['last_phase_growth_kb']:+} during "
          f"'{PHASES[-1]}' ({rss['samples']} samples, every 0.5 s)")
    summary = {
        "phase_seconds": PHASE_SECONDS, "on_error": ON_ERROR,
        "load": load,
        "requests": {p: {r: dict(c) for (q, r), c in run.counts.items() if q == p}
                     for p in PHASES},
        "recovery_ms": {r: round(s * 1000) for r, s in run.first_ok.items()},
        "rss": rss, "rss_samples_kb": [kb for *_, kb in run.rss],
        "failures": failures, "pass": not failures,
    }
    if SUMMARY:
        with open(SUMMARY, "w") as out:
            json.dump(summary, out, indent=1, default=str)
    print("summary " + json.dumps({k: summary[k] for k in
                                   ("recovery_ms", "rss", "failures", "pass")}, default=str))
    for failure in failures:
        print(f"FAIL {failure}")
    print("PASS" if not failures else "FAILED")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
