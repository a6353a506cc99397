"""Decoding diagram-service links offline: round trips, recognition, malformed payloads."""

from __future__ import annotations

import base64
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from migrate.migratetools import kroki_url, mermaid_ink_url, plantuml_payload, plantuml_url

from course_assets.migrate.decode import (
    MAX_SOURCE_BYTES,
    DecodeError,
    decode,
    decode_url,
    recognise,
)

MERMAID = "graph TB\n  A[Start] --> B[Stop]\n"
SOURCES = st.text(min_size=1, max_size=400)


# -- round trips: encode as the service does, decode, compare ------------------------------------

@settings(max_examples=60, deadline=None)
@given(source=SOURCES, language=st.sampled_from(["mermaid", "graphviz", "plantuml", "d2"]),
       fmt=st.sampled_from(["svg", "png"]))
def test_kroki_round_trip(source: str, language: str, fmt: str) -> None:
    decoded = decode_url(kroki_url(language, source, fmt))
    assert decoded is not None
    assert (decoded.service, decoded.language, decoded.source) == ("kroki", language, source)


@settings(max_examples=60, deadline=None)
@given(source=SOURCES.filter(lambda text: not text.lstrip().startswith("{")),
       form=st.sampled_from(["plain", "json", "pako"]), urlsafe=st.booleans(),
       padded=st.booleans(), kind=st.sampled_from(["img", "svg"]))
def test_mermaid_ink_round_trip(source: str, form: str, urlsafe: bool, padded: bool,
                                kind: str) -> None:
    decoded = decode_url(mermaid_ink_url(source, form, urlsafe=urlsafe, padded=padded, kind=kind))
    assert decoded is not None
    assert (decoded.service, decoded.language, decoded.source) == ("mermaid.ink", "mermaid",
                                                                   source)


@settings(max_examples=60, deadline=None)
@given(source=SOURCES, variant=st.sampled_from(["deflate", "~1", "~h"]),
       fmt=st.sampled_from(["svg", "png", "uml", "txt"]))
def test_plantuml_round_trip(source: str, variant: str, fmt: str) -> None:
    decoded = decode_url(plantuml_url(source, variant, fmt))
    assert decoded is not None
    assert (decoded.service, decoded.language, decoded.source) == ("plantuml", "plantuml", source)


def test_plantuml_documented_example_decodes() -> None:
    # The example on PlantUML's text-encoding page (the page shows it with @startuml/@enduml,
    # which the server adds; the encoded text leaves them out).
    encoded = "Syp9J4vLqBLJSCfFib9mB2t9ICqhoKnEBCdCprC8IYqiJIqkuGBAAUW2rO0LOr5LN92VLvpA1G00"
    decoded = decode_url(f"https://www.plantuml.com/plantuml/png/{encoded}")
    assert decoded is not None
    assert decoded.source == ("Alice -> Bob: Authentication Request\n"
                              "Bob --> Alice: Authentication Response\n")


def test_seed_kroki_link_decodes_to_the_mermaid_source() -> None:
    url = ("https://kroki.io/mermaid/svg/eNpLL0osyFAIceJSUHCK9vXxLyiOBTEVdHXtFNyinfNzchKT8osS"
           "SzLz8xAS7tGOpSX5uWiiHtG--SmpOQoBqUVp-UW5iXnJqSDJnMy87OCSypxUBQOF4pKi_OxUK2Wj1OQUc0M"
           "dCFe3PDOlJMPKqKDCGkW5IWnKjQgrBwB1T0x3")
    decoded = decode_url(url)
    assert decoded is not None
    assert decoded.source.splitlines()[:3] == ["graph TB", "  B[MLOps]",
                                               "  B --> F[Collaboration]"]


# -- which links are recognised -------------------------------------------------------------------

@pytest.mark.parametrize("url, service, language", [
    (kroki_url("mermaid", MERMAID), "kroki", "mermaid"),
    (kroki_url("graphviz", "digraph{a->b}"), "kroki", "graphviz"),
    (kroki_url("dot", "digraph{a->b}", "png"), "kroki", "graphviz"),
    # Self-hosted Kroki, under a path prefix and on another port.
    (kroki_url("mermaid", MERMAID, base="http://diagrams.example.org:8000/kroki"), "kroki",
     "mermaid"),
    (kroki_url("plantuml", "@startuml\na->b\n@enduml", base="https://kroki.internal"), "kroki",
     "plantuml"),
    (mermaid_ink_url(MERMAID, "plain", kind="svg"), "mermaid.ink", "mermaid"),
    (mermaid_ink_url(MERMAID, "pako") + "?type=png&bgColor=white", "mermaid.ink", "mermaid"),
    (plantuml_url("@startuml\na->b\n@enduml"), "plantuml", "plantuml"),
    (plantuml_url("@startuml\na->b\n@enduml", base="http://localhost:8080/plantuml"),
     "plantuml", "plantuml"),
    ("//kroki.io/mermaid/svg/" + kroki_url("mermaid", MERMAID).rsplit("/", 1)[1], "kroki",
     "mermaid"),
])
def test_service_links_are_recognised(url: str, service: str, language: str) -> None:
    link = recognise(url)
    assert link is not None and (link.service, link.language) == (service, language)
    assert decode(link).source.startswith(("graph", "digraph", "@startuml"))


@pytest.mark.parametrize("url", [
    "https://showme.redstarplugin.com/s/68KNMkBW",
    "https://example.com/images/diagram.png",
    "https://example.com/d2/png/photo",  # looks like Kroki's path, but no zlib payload
    "https://kroki.io/",
    "https://mermaid.ink/",
    "images/local.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "mailto:someone@example.com",
])
def test_other_links_are_not_service_links(url: str) -> None:
    assert recognise(url) is None
    assert decode_url(url) is None


def test_a_mermaid_ink_payload_with_double_slashes_keeps_them() -> None:
    # Standard base64 can hold "//"; the payload is the whole rest of the path.
    source = "graph LR\n  A[?>?] --> B[???]\n" + "\u00ff" * 3
    url = mermaid_ink_url(source, "plain")
    assert decode_url(url).source == source


# -- malformed payloads: a clear error, never a crash or a huge allocation -----------------------

def _kroki(payload: str) -> str:
    return f"https://kroki.io/mermaid/svg/{payload}"


GOOD = kroki_url("mermaid", MERMAID * 20).rsplit("/", 1)[1]


@pytest.mark.parametrize("url, fragment", [
    (_kroki(GOOD[:41]), "truncated"),  # 41 characters: a lone base64 character
    (_kroki(GOOD[:40]), "truncated"),  # whole bytes, but the deflate stream ends early
    (_kroki("eNp!!!not*base64"), "not base64"),
    (_kroki(base64.urlsafe_b64encode(b"just some text, no zlib here").decode()),
     "not deflate-compressed"),
    (_kroki(base64.urlsafe_b64encode(zlib.compress(b"graph TB\n\xff\xfe oops")).decode()),
     "not UTF-8"),
    ("https://mermaid.ink/img/" + base64.b64encode(b"\xc3\x28 broken").decode(), "not UTF-8"),
    ("https://mermaid.ink/img/" + base64.b64encode(b'{"code": 1}').decode(), '"code"'),
    ("https://mermaid.ink/img/" + base64.b64encode(b"{not json").decode(), "not valid JSON"),
    ("https://mermaid.ink/img/pako:AAAA", "not deflate-compressed"),
    ("https://mermaid.ink/svg/%%%", "not base64"),
    ("https://www.plantuml.com/plantuml/svg/~hABC", "hex"),
    ("https://www.plantuml.com/plantuml/svg/Syp9J4vLq*", "outside its alphabet"),
    ("https://www.plantuml.com/plantuml/svg/Syp9J", "truncated"),
    ("https://www.plantuml.com/plantuml/svg/~1Syp9J4vL", "not deflate-compressed"),
])
def test_malformed_payloads_raise_a_clear_error(url: str, fragment: str) -> None:
    link = recognise(url)
    assert link is not None
    with pytest.raises(DecodeError) as caught:
        decode(link)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("wrap", ["kroki", "pako", "plantuml"])
def test_a_zip_bomb_stops_at_the_limit(wrap: str) -> None:
    bomb = b"A" * (16 * MAX_SOURCE_BYTES)  # 8 MiB of text from ~8 KiB of payload
    if wrap == "kroki":
        url = _kroki(base64.urlsafe_b64encode(zlib.compress(bomb, 9)).decode())
    elif wrap == "pako":
        state = b'{"code": "' + bomb + b'"}'
        url = ("https://mermaid.ink/img/pako:"
               + base64.urlsafe_b64encode(zlib.compress(state, 9)).decode().rstrip("="))
    else:
        url = plantuml_url(bomb.decode())
    assert len(url) < 40_000
    started = time.perf_counter()
    with pytest.raises(DecodeError, match="inflates past"):
        decode(recognise(url))
    assert time.perf_counter() - started < 2


def test_an_oversized_payload_is_refused_before_decoding() -> None:
    with pytest.raises(DecodeError, match="characters long"):
        decode(recognise(_kroki("eNp" + "A" * 300_000)))


def test_plantuml_payload_of_a_kroki_link_on_an_unnamed_host_falls_back_to_kroki() -> None:
    source = "@startuml\nBob -> Alice : hello\n@enduml"
    url = kroki_url("plantuml", source, base="https://diagrams.example.org")
    link = recognise(url)
    assert link is not None
    assert decode(link).source == source
    assert plantuml_payload(source) != url.rsplit("/", 1)[1]
