"""fastapi-poetry: a FastAPI app whose dependencies are locked by Poetry."""

import fastapi
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI(title="fastapi-poetry")


@app.get("/", response_class=PlainTextResponse)
def index():
    return f"fastapi-poetry fastapi={fastapi.__version__}\n"


@app.get("/_health", response_class=PlainTextResponse)
def health():
    return "ok"
