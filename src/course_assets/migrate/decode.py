"""Recognise diagram-service image links and decode their payloads offline.

Kroki, mermaid.ink and PlantUML servers all carry the diagram source inside the URL, compressed
and base64-encoded in one of a few ways; decoding it needs no network. Every step is bounded so
that a hostile or broken link fails with a clear message instead of eating memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# A diagram source is a few kilobytes; a payload that inflates past this is broken or a zip bomb.
MAX_SOURCE_BYTES = 512 * 1024
# Browsers and servers reject far shorter URLs; this only stops absurd input early.
MAX_PAYLOAD_CHARS = 256 * 1024

# Kroki's diagram types (https://kroki.io/#support), mapped to the language of their source.
KROKI_TYPES: dict[str, str] = {
    name: name for name in (
        "actdiag", "blockdiag", "bpmn", "bytefield", "c4plantuml", "d2", "dbml", "ditaa",
        "erd", "excalidraw", "mermaid", "nomnoml", "nwdiag", "packetdiag", "pikchr",
        "plantuml", "rackdiag", "seqdiag", "structurizr", "svgbob", "symbolator", "tikz",
        "umlet", "vega", "vegalite", "wavedrom", "wireviz",
    )
} | {"graphviz": "graphviz", "dot": "graphviz"}
KROKI_FORMATS = frozenset({"svg", "png", "jpeg", "jpg", "pdf", "txt", "base64"})
PLANTUML_FORMATS = frozenset(
    {"png", "svg", "txt", "uml", "img", "eps", "epstext", "latex", "pdf", "map", "dsvg", "dpng"}
)
MERMAID_INK_KINDS = frozenset({"img", "svg", "pdf"})

# A zlib stream starts with 0x78 then a check byte, so its base64 starts "eA", "eF", "eJ" or "eN".
_ZLIB_BASE64 = re.compile(r"e[AFJN][A-Za-z0-9_\-]{6,}={0,2}")
_BASE64_BODY = re.compile(r"[A-Za-z0-9+/]*")
_PLANTUML_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
_STANDARD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_FROM_PLANTUML = str.maketrans(_PLANTUML_ALPHABET, _STANDARD_ALPHABET)


class DecodeError(ValueError):
    """A service link whose payload cannot be decoded; the message says why."""


@dataclass(frozen=True)
class ServiceLink:
    """A URL recognised as a diagram service link, not yet decoded."""

    url: str
    service: str  # "kroki", "mermaid.ink" or "plantuml"
    language: str  # "mermaid", "graphviz", "plantuml", or another Kroki type
    payload: str


@dataclass(frozen=True)
class DecodedSource:
    """The diagram source recovered from a service link."""

    url: str
    service: str
    language: str
    source: str


def recognise(url: str) -> ServiceLink | None:
    """Return the service link `url` is, or None when it is not one this tool can decode."""
    if url.startswith("//"):
        url = "https:" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    path = unquote(parts.path)
    segments = [segment for segment in path.split("/") if segment]

    if host == "mermaid.ink" or host.endswith(".mermaid.ink") or "mermaid-ink" in host:
        return _mermaid_ink(url, path)
    kroki = _kroki(url, segments, host)
    if "kroki" in host:
        return kroki
    plantuml = _plantuml(url, segments, host)
    if plantuml is not None:
        return plantuml
    return kroki


def decode(link: ServiceLink) -> DecodedSource:
    """Return the diagram source inside `link`; raise DecodeError when the payload is malformed."""
    if len(link.payload) > MAX_PAYLOAD_CHARS:
        raise DecodeError(f"the payload is {len(link.payload)} characters long, over the "
                          f"{MAX_PAYLOAD_CHARS} this tool accepts")
    if link.service == "kroki":
        source = decode_kroki(link.payload)
    elif link.service == "mermaid.ink":
        source = decode_mermaid_ink(link.payload)
    elif link.service == "plantuml":
        source = _decode_plantuml_or_kroki(link.payload)
    else:  # pragma: no cover - recognise() makes only the three
        raise DecodeError(f"unknown service {link.service!r}")
    return DecodedSource(link.url, link.service, link.language, source)


def decode_url(url: str) -> DecodedSource | None:
    """Return the source behind `url`, or None when it is not a service link."""
    link = recognise(url)
    return decode(link) if link is not None else None


# -- Kroki -----------------------------------------------------------------------------------------

def _kroki(url: str, segments: list[str], host: str) -> ServiceLink | None:
    # /<type>/<format>/<payload>, possibly under a prefix on a self-hosted instance.
    if len(segments) < 3:
        return None
    kind, fmt, payload = segments[-3].lower(), segments[-2].lower(), segments[-1]
    if kind not in KROKI_TYPES or fmt not in KROKI_FORMATS:
        return None
    # Elsewhere than a kroki host, demand the shape of a zlib stream so an ordinary image path
    # such as /d2/png/photo is not mistaken for a broken Kroki link.
    if "kroki" not in host and not _ZLIB_BASE64.fullmatch(payload):
        return None
    return ServiceLink(url, "kroki", KROKI_TYPES[kind], payload)


def decode_kroki(payload: str) -> str:
    """Decode a Kroki payload: base64url of zlib-deflated UTF-8."""
    data = _base64(payload, "Kroki payload")
    return _utf8(_inflate(data, zlib.MAX_WBITS, "Kroki payload"), "Kroki payload")


# -- mermaid.ink -----------------------------------------------------------------------------------

def _mermaid_ink(url: str, path: str) -> ServiceLink | None:
    # Standard base64 may contain "/" (even "//"), so the payload is the whole rest of the path.
    match = re.fullmatch(r"/*([A-Za-z]+)/(.+)", path)
    if match is None or match.group(1).lower() not in MERMAID_INK_KINDS:
        return None
    return ServiceLink(url, "mermaid.ink", "mermaid", match.group(2))


def decode_mermaid_ink(payload: str) -> str:
    """Decode a mermaid.ink payload: plain base64, base64 JSON, or `pako:` deflated JSON."""
    if payload.startswith("pako:"):
        data = _base64(payload[len("pako:"):], "mermaid.ink pako payload")
        text = _utf8(_inflate(data, zlib.MAX_WBITS, "mermaid.ink pako payload"),
                     "mermaid.ink pako payload")
        return _mermaid_json(text, "mermaid.ink pako payload")
    if payload.startswith("base64:"):
        payload = payload[len("base64:"):]
    data = _base64(payload, "mermaid.ink payload")
    if len(data) > MAX_SOURCE_BYTES:
        raise DecodeError(f"the mermaid.ink payload decodes to {len(data)} bytes, over the "
                          f"{MAX_SOURCE_BYTES}-byte limit")
    text = _utf8(data, "mermaid.ink payload")
    # A Mermaid diagram never starts with "{", so that means the JSON form.
    if text.lstrip().startswith("{"):
        return _mermaid_json(text, "mermaid.ink payload")
    return text


def _mermaid_json(text: str, what: str) -> str:
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"the {what} is not valid JSON ({exc.msg} at character {exc.pos})") \
            from None
    code = state.get("code") if isinstance(state, dict) else None
    if not isinstance(code, str):
        raise DecodeError(f"the {what} is JSON without a \"code\" string")
    return code


# -- PlantUML --------------------------------------------------------------------------------------

def _plantuml(url: str, segments: list[str], host: str) -> ServiceLink | None:
    # /plantuml/<format>/<payload> on plantuml.com and most servers; a self-hosted server named
    # plantuml-something may serve from the root as /<format>/<payload>.
    if len(segments) >= 3 and segments[-3].lower() == "plantuml":
        fmt = segments[-2].lower()
    elif len(segments) >= 2 and "plantuml" in host:
        fmt = segments[-2].lower()
    else:
        return None
    if fmt not in PLANTUML_FORMATS:
        return None
    return ServiceLink(url, "plantuml", "plantuml", segments[-1])


def decode_plantuml(payload: str) -> str:
    """Decode a PlantUML server payload: deflate in PlantUML's base64, or the `~1`/`~h` forms."""
    if payload.startswith("~h"):
        hex_text = payload[2:]
        if len(hex_text) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", hex_text):
            raise DecodeError("the PlantUML ~h payload is not an even run of hex digits")
        if len(hex_text) // 2 > MAX_SOURCE_BYTES:
            raise DecodeError(f"the PlantUML ~h payload is over the {MAX_SOURCE_BYTES}-byte limit")
        return _utf8(bytes.fromhex(hex_text), "PlantUML ~h payload")
    if payload.startswith("~1"):
        # The legacy form: the same alphabet around a zlib stream (header and checksum).
        data = _plantuml_base64(payload[2:])
        return _utf8(_inflate(data, zlib.MAX_WBITS, "PlantUML ~1 payload"), "PlantUML ~1 payload")
    if payload.startswith("~0"):
        payload = payload[2:]
    data = _plantuml_base64(payload)
    # The default form is raw deflate; the encoder pads its last group with zero bytes.
    return _utf8(_inflate(data, -zlib.MAX_WBITS, "PlantUML payload"), "PlantUML payload")


def _decode_plantuml_or_kroki(payload: str) -> str:
    try:
        return decode_plantuml(payload)
    except DecodeError:
        # Kroki's /plantuml/<format>/ path looks the same on a host whose name says neither.
        if _ZLIB_BASE64.fullmatch(payload):
            try:
                return decode_kroki(payload)
            except DecodeError:
                pass
        raise


def _plantuml_base64(text: str) -> bytes:
    if not text:
        raise DecodeError("the PlantUML payload is empty")
    bad = sorted(set(text) - set(_PLANTUML_ALPHABET))
    if bad:
        raise DecodeError(f"the PlantUML payload holds characters outside its alphabet: "
                          f"{''.join(bad)[:20]!r}")
    if len(text) % 4 == 1:
        raise DecodeError("the PlantUML payload is truncated (its length leaves a lone character)")
    standard = text.translate(_FROM_PLANTUML)
    return base64.b64decode(standard + "=" * (-len(standard) % 4))


# -- shared steps ----------------------------------------------------------------------------------

def _base64(text: str, what: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    body = text.strip().rstrip("=").replace("-", "+").replace("_", "/")
    if not body:
        raise DecodeError(f"the {what} is empty")
    if not _BASE64_BODY.fullmatch(body) or "=" in text.strip().rstrip("="):
        bad = sorted(set(body) - set(_STANDARD_ALPHABET))
        shown = "".join(bad)[:20] or "="
        raise DecodeError(f"the {what} is not base64 (unexpected characters {shown!r})")
    if len(body) % 4 == 1:
        raise DecodeError(f"the {what} is truncated (its base64 length leaves a lone character)")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above catch what b64 rejects
        raise DecodeError(f"the {what} is not base64 ({exc})") from None


def _inflate(data: bytes, wbits: int, what: str) -> bytes:
    """Inflate `data`, refusing to produce more than MAX_SOURCE_BYTES."""
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, MAX_SOURCE_BYTES + 1)
    except zlib.error as exc:
        raise DecodeError(f"the {what} is not deflate-compressed data ({exc})") from None
    if len(out) > MAX_SOURCE_BYTES or inflater.unconsumed_tail:
        raise DecodeError(f"the {what} inflates past the {MAX_SOURCE_BYTES}-byte limit "
                          "(a zip bomb, or not a diagram)")
    if not inflater.eof:
        raise DecodeError(f"the {what} is truncated: its compressed data ends early")
    return out


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"the {what} is not UTF-8 text (byte {exc.start}: "
                          f"{data[exc.start:exc.start + 1]!r})") from None


def source_extension(language: str) -> str:
    """Return the file extension to save a source in `language` under."""
    return {
        "mermaid": "mmd", "graphviz": "dot", "plantuml": "puml", "c4plantuml": "puml",
        "d2": "d2", "vega": "vg.json", "vegalite": "vl.json", "excalidraw": "excalidraw",
        "bpmn": "bpmn", "wavedrom": "json",
    }.get(language, language)
