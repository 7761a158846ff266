"""Runs the README's Quickstart, built as a crate of its own by quickstart.py, with no
Rocket.toml and no settings at all, and drives the session its README promises over HTTP:
login (test/test only), the protected read, a refresh that replaces the pair, and logouts
with the access token and with the refresh token, after which both tokens get 401.

Usage: python3 .ci/quickstart_http.py <the quickstart binary>"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

binary = os.path.abspath(sys.argv[1])
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]


def call(method, path, token=None, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = body.encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def expect(what, got, wanted):
    if got != wanted:
        sys.exit(f"quickstart: {what}: got {got}, wanted {wanted}")
    print(f"quickstart: {what}: {got}")


def login():
    status, pair = call("POST", "/login", body='{"username":"test","password":"test"}')
    expect("login test/test", status, 200)
    return pair


# An empty directory: no Rocket.toml, and nothing from the environment but the address.
env = {k: v for k, v in os.environ.items() if not k.startswith("ROCKET_")}
env.update(ROCKET_ADDRESS="127.0.0.1", ROCKET_PORT=str(port), ROCKET_LOG_LEVEL="off")
with tempfile.TemporaryDirectory() as empty:
    server = subprocess.Popen([binary], cwd=empty, env=env, stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit("quickstart: the server exited at launch")
                time.sleep(0.05)
        expect("login with a wrong password", call("POST", "/login", body='{"username":"test","password":"x"}')[0], 401)
        expect("login with no body", call("POST", "/login")[0], 401)
        expect("/user without a token", call("GET", "/user")[0], 401)

        first = login()
        status, user = call("GET", "/user", first["access_token"])
        expect("/user with the access token", (status, user), (200, {"user": "test"}))
        status, second = call("POST", "/refresh", first["refresh_token"])
        expect("refresh", status, 200)
        expect("a new refresh token", second["refresh_token"] != first["refresh_token"], True)
        expect("/user with the new access token", call("GET", "/user", second["access_token"])[0], 200)
        expect("logout with the access token", call("POST", "/logout", second["access_token"])[0], 200)
        expect("/user after the logout", call("GET", "/user", second["access_token"])[0], 401)
        expect("refresh after the logout", call("POST", "/refresh", second["refresh_token"])[0], 401)

        third = login()
        expect("logout with the refresh token", call("POST", "/logout", third["refresh_token"])[0], 200)
        expect("/user after that logout", call("GET", "/user", third["access_token"])[0], 401)
        expect("refresh after that logout", call("POST", "/refresh", third["refresh_token"])[0], 401)
    finally:
        server.terminate()
        server.wait(timeout=10)
print("quickstart: the README's session works end to end with no configuration")
