"""flask-pipenv: a Flask app whose dependencies are locked by Pipenv."""

from importlib.metadata import version

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return f"flask-pipenv flask={version('flask')}\n", 200, {"Content-Type": "text/plain"}


@app.get("/_health")
def health():
    return "ok", 200, {"Content-Type": "text/plain"}
