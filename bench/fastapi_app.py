"""The FastAPI app `bench/load.sh` measures beside `bench_server`: fastapi-paseto's own guard.

- `/open`: no guard, the baseline;
- `/protected`: `AuthPASETO.paseto_required()`, a valid access token in `Authorization: Bearer`;
- `/token`: `{"access_token": ...}`, a fresh access token for the load script.

fastapi-paseto's defaults are kept: v4.local tokens, read from the `Authorization` header, no
denylist. The key is generated at start, like `bench_server`'s, and both routes answer a plain
`ok` as its routes do.

With `DAY_REDIS_URL` set, it also serves the sessions `bench/day.sh` drives, as `bench_server`
does, with what fastapi-paseto leaves to the app written the way its denylist is meant to be
used: `POST /login {"username", "password"}` (any user name, the password `bench`), `GET
/local`, `POST /refresh`, `POST /logout` and `POST /logout-all`. Every token of a session
carries its id (`fam`); a logout denylists the session, a refresh denylists the refresh token it
used (a second use of it ends the session, as reuse detection does; `used:` in Redis), and a logout everywhere
sets a cutoff for the user. The denylist callback reads the token's three entries from Redis in
one `MGET`, with a synchronous client: fastapi-paseto calls it synchronously. Instances share
the key through `DAY_PASETO_KEY`, and access tokens live `DAY_ACCESS_TTL` seconds. Routes are `async def`, so they run on the event loop rather than in
FastAPI's thread pool; fastapi-paseto's dependency (a plain class) still runs there, as it does
in every app that uses it.

Run it as load.sh does (from the repository root, in a venv with bench/fastapi-requirements.txt):

    uvicorn fastapi_app:app --app-dir bench --workers 1 --loop uvloop --http httptools \
        --no-access-log --port 18091
"""

import asyncio
import os
import secrets
import time
from datetime import datetime

from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_paseto import AuthPASETO
from fastapi_paseto.exceptions import AuthPASETOException
from pydantic import BaseModel


class Settings(BaseModel):
    # v4.local accepts a key of up to 64 bytes; 43 URL-safe characters carry 256 random bits.
    authpaseto_secret_key: str = os.environ.get("DAY_PASETO_KEY") or secrets.token_urlsafe(32)
    authpaseto_denylist_enabled: bool = bool(os.environ.get("DAY_REDIS_URL"))
    authpaseto_decode_leeway: int = 1 if os.environ.get("DAY_REDIS_URL") else 0


@AuthPASETO.load_config
def get_config():
    return Settings()


app = FastAPI()


@app.exception_handler(AuthPASETOException)
async def auth_error(request: Request, exc: AuthPASETOException):
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.message})


@app.get("/open", response_class=PlainTextResponse)
async def open_route():
    return "ok"


@app.get("/protected", response_class=PlainTextResponse)
async def protected(authorize: AuthPASETO = Depends()):
    authorize.paseto_required()
    return "ok"


@app.get("/token")
async def token(authorize: AuthPASETO = Depends()):
    # An hour, like bench_server's public tokens, so a long run does not outlive it.
    return {"access_token": authorize.create_access_token(subject="bench", expires_time=3600)}


# The sessions of bench/day.sh, when it gives a Redis URL.
DAY_REDIS_URL = os.environ.get("DAY_REDIS_URL")
ACCESS_TTL = int(os.environ.get("DAY_ACCESS_TTL", "900"))
REFRESH_TTL = 30 * 24 * 3600
redis = None
if DAY_REDIS_URL:
    import redis as redis_py

    redis = redis_py.Redis.from_url(DAY_REDIS_URL, decode_responses=True)


def unix(claim):
    return int(datetime.fromisoformat(claim).timestamp())


@AuthPASETO.token_in_denylist_loader
def denied(payload):
    ended, family, cutoff = redis.mget(
        f"jti:{payload['jti']}", f"fam:{payload.get('fam')}", f"cut:{payload['sub']}"
    )
    return bool(ended or family or (cutoff and unix(payload["iat"]) < int(cutoff)))


def pair(authorize, subject, family):
    claims = {"fam": family}
    return {
        "access_token": authorize.create_access_token(
            subject=subject, user_claims=claims, expires_time=ACCESS_TTL
        ),
        "refresh_token": authorize.create_refresh_token(
            subject=subject, user_claims=claims, expires_time=REFRESH_TTL
        ),
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL,
    }


@app.post("/login")
async def login(username: str = Body(), password: str = Body(), authorize: AuthPASETO = Depends()):
    if not secrets.compare_digest(password, "bench"):
        return JSONResponse(status_code=401, content={"detail": "bad credentials"})
    return pair(authorize, username, secrets.token_urlsafe(16))


@app.get("/local", response_class=PlainTextResponse)
async def local(authorize: AuthPASETO = Depends()):
    authorize.paseto_required()
    return "ok"


@app.post("/refresh")
async def refresh(authorize: AuthPASETO = Depends()):
    authorize.paseto_required(refresh_token=True)
    claims = authorize.get_token_payload()
    # Each refresh token once: a second use ends its session.
    if not redis.set(f"used:{claims['jti']}", "1", ex=REFRESH_TTL, nx=True):
        redis.set(f"fam:{claims['fam']}", "1", ex=REFRESH_TTL)
        return JSONResponse(status_code=401, content={"detail": "refresh token reused"})
    return pair(authorize, claims["sub"], claims["fam"])


@app.post("/logout")
async def logout(authorize: AuthPASETO = Depends()):
    authorize.paseto_required()
    redis.set(f"fam:{authorize.get_token_payload()['fam']}", "1", ex=REFRESH_TTL)
    return {"logged_out": True}


@app.post("/logout-all")
async def logout_all(authorize: AuthPASETO = Depends()):
    authorize.paseto_required()
    # Tokens carry `iat` in whole seconds: a cutoff at the next second ends every token issued
    # so far, and logins after the wait are past it.
    cutoff = int(time.time()) + 1
    redis.set(f"cut:{authorize.get_subject()}", str(cutoff), ex=REFRESH_TTL)
    await asyncio.sleep(max(0.0, cutoff - time.time()))
    return {"logged_out": True}
