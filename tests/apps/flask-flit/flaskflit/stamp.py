"""Build step: write $BUILD_LABEL to flaskflit/static/build-label.txt.

Run from the project folder: ``python3 -m flaskflit.stamp``.
"""

import os
import sys
from pathlib import Path

from flaskflit import LABEL_FILE


def main():
    label = os.environ.get("BUILD_LABEL")
    if not label:
        sys.exit("flaskflit.stamp: BUILD_LABEL is not set")
    path = Path.cwd() / LABEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(label)
    print(f"flaskflit.stamp: wrote {path}")


if __name__ == "__main__":
    main()
