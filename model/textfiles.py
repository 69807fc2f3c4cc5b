"""Read a user's text file: find its encoding, name it in messages, never a UnicodeDecodeError.

Exports from Excel and Chinese business software arrive as UTF-8 (with or without a byte-order
mark), UTF-16 ("Unicode text"), GBK/GB18030 (Excel on simplified-Chinese Windows), Big5
(traditional Chinese) or Windows-1252/latin-1. Byte-order marks and UTF-16 are recognised
exactly; among the legacy encodings ``charset-normalizer`` picks the one whose decoding reads
most like text, restricted to the encodings above so that a short file is not taken for, say,
Korean.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from model.errors import InputError

# Longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with a byte-order mark (BOM)"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
# Legacy encodings a Chinese team's export may be in, by Python codec; names for messages.
LEGACY = {
    "gb18030": "GBK/GB18030 (simplified Chinese)",
    "big5": "Big5 (traditional Chinese)",
    "cp1252": "Windows-1252/latin-1",
}


@dataclass(frozen=True)
class Decoded:
    """A decoded file: its text, the codec used and a name for people."""

    text: str
    codec: str
    name: str
    bom: bool = False

    @property
    def is_utf8(self) -> bool:
        """UTF-8, with or without a byte-order mark."""
        return self.codec == "utf-8"


def read_text(path: str | os.PathLike, *, what: str = "file") -> Decoded:
    """Read and decode a text file whatever its encoding (see the module docstring).

    Raises:
        InputError: missing, unreadable, a directory, or not text at all (a binary file).
    """
    return decode(read_bytes(path, what=what), str(path))


def read_bytes(path: str | os.PathLike, *, what: str = "file") -> bytes:
    """A file's bytes, with a message instead of an OSError traceback."""
    name = str(path)
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found (expected a {what})", file=name) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected a {what}", file=name) from None
    except PermissionError:
        raise InputError(f"cannot read the {what}: permission denied", file=name) from None
    except OSError as err:
        raise InputError(f"cannot read the {what}: {err.strerror or err}", file=name) from None


def decode(data: bytes, source: str = "<text>") -> Decoded:
    """Decode bytes: byte-order marks, UTF-16 without one, UTF-8, then legacy encodings.

    Raises:
        InputError: the bytes are not text in any of these encodings (e.g. a binary file).
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data[len(bom) :].decode(codec), codec, name, bom=True)
            except UnicodeDecodeError as err:
                raise InputError(
                    f"starts with the byte-order mark of {name} but is not valid {name} "
                    f"(byte {err.start + len(bom)}); save it again as UTF-8",
                    file=source,
                ) from None
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        try:
            return Decoded(
                data.decode(utf16), utf16, {"utf-16-le": "UTF-16 LE"}.get(utf16, "UTF-16 BE")
            )
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        utf8_error = err
    else:
        _refuse_binary(data, source)
        return Decoded(text, "utf-8", "UTF-8")
    _refuse_binary(data, source)
    codec = guess_legacy(data)
    if codec is None:
        line = data[: utf8_error.start].count(b"\n") + 1
        raise InputError(
            f"line {line}: not UTF-8 text (byte 0x{data[utf8_error.start]:02x}) and not "
            f"readable as {', '.join(LEGACY.values())} either; save it as UTF-8",
            file=source,
        )
    return Decoded(data.decode(codec), codec, LEGACY[codec])


def guess_legacy(data: bytes) -> str | None:
    """The legacy encoding (a key of :data:`LEGACY`) the bytes most likely are, or None."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(LEGACY)).best()
    if best is None:
        return None
    codec = codecs.lookup(best.encoding).name
    aliases = {
        "gb18030": "gb18030",
        "gbk": "gb18030",
        "gb2312": "gb18030",
        "big5": "big5",
        "big5hkscs": "big5",
        "cp1252": "cp1252",
        "iso8859-1": "cp1252",
        "latin-1": "cp1252",
    }
    codec = aliases.get(codec, codec)
    if codec not in LEGACY:
        return None
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return None
    return codec


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 LE/BE text without a mark: ASCII characters leave every other byte NUL."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    half = len(sample) // 2
    if odd.count(0) > 0.4 * half and even.count(0) < 0.1 * half:
        return "utf-16-le"
    if even.count(0) > 0.4 * half and odd.count(0) < 0.1 * half:
        return "utf-16-be"
    return None


def _refuse_binary(data: bytes, source: str) -> None:
    """NUL bytes (that are not UTF-16) or many control characters: not a text file."""
    sample = data[:8192]
    control = [i for i, b in enumerate(sample) if b < 32 and b not in (9, 10, 12, 13)]
    if b"\x00" in sample or len(control) > 0.05 * max(len(sample), 1):
        at = sample.index(0) if b"\x00" in sample else control[0]
        raise InputError(
            f"is not a text file (it holds binary data, e.g. byte 0x{sample[at]:02x} at offset "
            f"{at}); expected a text file such as UTF-8 CSV or TOML",
            file=source,
        )
