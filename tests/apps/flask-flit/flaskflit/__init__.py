"""flask-flit: a small Flask app packaged with flit."""

from pathlib import Path

from flask import Flask, abort

__version__ = "1.0.0"

APP_NAME = "flask-flit"
LABEL_FILE = Path("flaskflit", "static", "build-label.txt")


def label_path():
    """The build label written by ``flaskflit.stamp``.

    The stamp runs in the project folder (the working directory), so look
    there first; ``pip install .`` may also have copied it into the package.
    """
    for candidate in (Path.cwd() / LABEL_FILE, Path(__file__).parent / "static" / LABEL_FILE.name):
        if candidate.is_file():
            return candidate
    return None


def create_app():
    app = Flask(__name__)

    @app.get("/")
    def index():
        return (
            f"<!doctype html><title>{APP_NAME}</title>"
            f"<h1>Hello from {APP_NAME} {__version__}</h1>\n"
        )

    @app.get("/_health")
    def health():
        return "ok", 200, {"Content-Type": "text/plain"}

    @app.get("/build-label")
    def build_label():
        path = label_path()
        if path is None:
            abort(404)
        return path.read_text(), 200, {"Content-Type": "text/plain"}

    return app
