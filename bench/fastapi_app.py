"""The FastAPI app `bench/load.sh` measures beside `bench_server`: fastapi-paseto's own guard.

- `/open`: no guard, the baseline;
- `/protected`: `AuthPASETO.paseto_required()`, a valid access token in `Authorization: Bearer`;
- `/token`: `{"access_token": ...}`, a fresh access token for the load script.

fastapi-paseto's defaults are kept: v4.local tokens, read from the `Authorization` header, no
denylist. The key is generated at start, like `bench_server`'s, and both routes answer a plain
`ok` as its routes do. Routes are `async def`, so they run on the event loop rather than in
FastAPI's thread pool; fastapi-paseto's dependency (a plain class) still runs there, as it does
in every app that uses it.

Run it as load.sh does (from the repository root, in a venv with bench/fastapi-requirements.txt):

    uvicorn fastapi_app:app --app-dir bench --workers 1 --loop uvloop --http httptools \
        --no-access-log --port 18091
"""

import secrets

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_paseto import AuthPASETO
from fastapi_paseto.exceptions import AuthPASETOException
from pydantic import BaseModel


class Settings(BaseModel):
    # v4.local accepts a key of up to 64 bytes; 43 URL-safe characters carry 256 random bits.
    authpaseto_secret_key: str = secrets.token_urlsafe(32)


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
