"""`FileTree`: the files of a zip archive or of a folder, read the same way.

Loaders of image data sets (Tiny ImageNet, ILSVRC2012) take either the archive a user
downloaded or the folder it was extracted to; a `FileTree` lists and reads both by
relative path ('a/b.JPEG', '/' separated) without extracting anything.
"""

import zipfile
from pathlib import Path

from mrambnn.datasets.base import DataError

__all__ = ["FileTree"]


class FileTree:
    """The regular files under ``root`` (a folder, or a .zip archive), by relative path.

    Raises:
        DataError: ``root`` is neither a folder nor a readable zip archive.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._zip: zipfile.ZipFile | None = None
        if self.root.is_file():
            try:
                self._zip = zipfile.ZipFile(self.root)
            except (zipfile.BadZipFile, OSError) as error:
                raise DataError(f"{self.root}: not a readable zip archive ({error})") from error
            self._names = sorted(info.filename for info in self._zip.infolist()
                                 if not info.is_dir())
        elif self.root.is_dir():
            self._names = sorted(p.relative_to(self.root).as_posix()
                                 for p in self.root.rglob("*") if p.is_file())
        else:
            raise DataError(f"{self.root}: no such file or folder")

    def names(self, prefix: str = "") -> list[str]:
        """Relative paths of the files under ``prefix`` (a folder path ending in '/', or
        ''), sorted."""
        return [name for name in self._names if name.startswith(prefix)]

    def __contains__(self, name: str) -> bool:
        return name in self._names or (self._zip is None and (self.root / name).is_file())

    def where(self, name: str) -> str:
        """How errors name file ``name``: the archive and member, or the file's path."""
        return f"{self.root}:{name}" if self._zip is not None else str(self.root / name)

    def read(self, name: str) -> bytes:
        """The bytes of file ``name``; DataError naming it when missing or unreadable."""
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.root / name).read_bytes()
        except (KeyError, FileNotFoundError) as error:
            raise DataError(f"{self.where(name)}: missing") from error
        except (OSError, zipfile.BadZipFile, EOFError) as error:
            raise DataError(f"{self.where(name)}: unreadable ({error})") from error

    def text(self, name: str) -> str:
        """File ``name`` decoded as UTF-8 text (DataError otherwise)."""
        try:
            return self.read(name).decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"{self.where(name)}: not UTF-8 text ({error})") from error
