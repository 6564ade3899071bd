"""Unit tests for wake.aptfile: an app's extra Debian packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from wake.build import aptfile
from wake.errors import UsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bestsiteever"


def write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "Aptfile"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_aptfile_means_no_packages(tmp_path: Path) -> None:
    assert aptfile.read(tmp_path) == ()


def test_comments_several_per_line_and_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "# runtime libraries\n"
                    "libpq5   # postgres client\n"
                    "\n"
                    "   imagemagick libvips42 libpq5\n"
                    "libxml2#no space before the comment\n"
                    "# libnotwanted\n"
                    "libvips42 tzdata=2024a-0+deb12u1 g++ libstdc++6\n")
    assert aptfile.read(tmp_path) == ("libpq5", "imagemagick", "libvips42", "libxml2",
                                      "tzdata=2024a-0+deb12u1", "g++", "libstdc++6")


def test_empty_and_comment_only_aptfile(tmp_path: Path) -> None:
    write(tmp_path, "# nothing yet\n\n   \n")
    assert aptfile.read(tmp_path) == ()


@pytest.mark.parametrize("word, line", [
    ("LibPQ5", 2),         # upper case
    ("lib_pq", 2),         # underscore
    ("x", 2),              # Debian names have at least two characters
    ("-libpq", 2),         # must start with a letter or digit
    ("libpq5=", 2),        # empty version
    ("apt-get;rm", 2),     # shell metacharacters
])
def test_invalid_package_name_names_file_and_line(tmp_path: Path, word: str, line: int) -> None:
    path = write(tmp_path, f"libpq5\ncurl {word} wget\n")
    with pytest.raises(UsageError) as info:
        aptfile.read(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ")
    assert repr(word) in message


def test_line_numbers_count_comment_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "# one\n\nlibpq5 # three\nBad\n")
    with pytest.raises(UsageError, match=f"^{path}:4: 'Bad'"):
        aptfile.read(tmp_path)


def test_example_aptfile() -> None:
    if not (EXAMPLE / "Aptfile").is_file():
        pytest.skip(f"{EXAMPLE / 'Aptfile'} is missing")
    assert aptfile.read(EXAMPLE) == ("puma", "ruby-rack", "rake")
