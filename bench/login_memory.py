"""Runs the `app` example on a database of its own, registers ACCOUNTS accounts, sends ROUNDS
bursts of one wrong-password login per account, all at once, and reports the server's memory
from /proc/PID/status. Started by bench/login-memory.sh, which builds the example; the
settings come from its environment (see there).
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

ACCOUNTS = int(os.environ.get("ACCOUNTS", "24"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LIMIT_MB = int(os.environ.get("LIMIT_MB", "160"))
PORT = int(os.environ.get("PORT", "18096"))
SERVER = os.environ["SERVER"]
WORK = os.environ["WORK"]


def post(path, body):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    status = connection.getresponse().status
    connection.close()
    return status


def memory(pid):
    """(VmRSS, VmHWM) in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.split()
    return int(fields["VmRSS"][0]) // 1024, int(fields["VmHWM"][0]) // 1024


def wait_for_port():
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"the app did not start listening on {PORT}")


def burst():
    """One wrong-password login per account, released together; their statuses."""
    start = threading.Barrier(ACCOUNTS)
    statuses = [None] * ACCOUNTS

    def login(n):
        start.wait()
        statuses[n] = post("/login", {"username": f"user_{n}", "password": "wrong password"})

    threads = [threading.Thread(target=login, args=(n,)) for n in range(ACCOUNTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main():
    env = dict(os.environ, ROCKET_PORT=str(PORT), ROCKET_ADDRESS="127.0.0.1",
               ROCKET_LOG_LEVEL="off",
               ROCKET_DATABASES=f'{{app={{url="sqlite://{WORK}/app.db?mode=rwc"}}}}',
               # Every burst comes from one address: without this, the login throttle would
               # refuse the later bursts (429) before any hashing, and nothing would be measured.
               ROCKET_PASETO="{throttle={address_failures=0}}")
    server = subprocess.Popen([SERVER], env=env, stdin=subprocess.DEVNULL)
    try:
        wait_for_port()
        time.sleep(0.5)  # the dummy hash computed at liftoff
        print("after start-up:      RSS %4d MB, peak %4d MB" % memory(server.pid))
        for n in range(ACCOUNTS):
            status = post("/register", {"username": f"user_{n}", "password": "right password"})
            if status != 201:
                sys.exit(f"registering user_{n}: {status}")
        print("after %2d accounts:   RSS %4d MB, peak %4d MB" % ((ACCOUNTS,) + memory(server.pid)))
        for round_ in range(1, ROUNDS + 1):
            began = time.monotonic()
            statuses = burst()
            took = time.monotonic() - began
            if set(statuses) != {401}:
                sys.exit(f"burst {round_}: statuses {sorted(set(statuses))}, expected 401 only")
            rss, peak = memory(server.pid)
            print(f"after burst {round_} of {ACCOUNTS}: RSS {rss:4d} MB, peak {peak:4d} MB"
                  f" ({took:.2f} s)")
    finally:
        server.terminate()
        server.wait()
    print(f"peak RSS: {peak} MB (limit {LIMIT_MB} MB)")
    if peak > LIMIT_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()
