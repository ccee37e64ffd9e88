"""Tier policy: endpoints per tier, redirects, classification and its markings."""

from __future__ import annotations

import httpx
import pytest
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools import classification as cls
from freecad_spatial.spatial_tools import tiers
from freecad_spatial.spatial_tools.tiers import Policy, TierRefused

# --- tiers and classifications -------------------------------------------------


@pytest.mark.parametrize(
    "user, level, expected",
    [
        ("cloud", "unrestricted", "cloud"),
        ("cloud", "proprietary", "private"),
        ("cloud", "export-controlled", "local"),
        ("private", "unrestricted", "private"),
        ("local", "unrestricted", "local"),
        ("local", "proprietary", "local"),
        ("private", "export-controlled", "local"),
    ],
)
def test_required_tier_is_the_strictest(user, level, expected):
    assert tiers.required_tier(user, level) == expected


def test_unknown_tier_or_classification_is_an_error():
    with pytest.raises(ValueError, match="unknown tier 'space'"):
        tiers.required_tier("space", "unrestricted")
    with pytest.raises(ValueError, match="unknown classification 'secret'"):
        Policy(classification="secret")


# --- endpoints -------------------------------------------------------------------

LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST.", "::ffff:127.0.0.1"]
PRIVATE = ["10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.20", "169.254.3.4", "fd12:3456::1", "fe80::1"]
PUBLIC = ["8.8.8.8", "172.32.0.1", "128.0.0.1", "0.0.0.0", "api.anthropic.com", "2001:db8::1", "localhost.evil.com",
          "127.0.0.1.nip.io", "100.64.0.1"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_is_allowed_everywhere(host):
    for tier in ("local", "private", "cloud"):
        assert tiers.host_allowed(tier, host)


@pytest.mark.parametrize("host", PRIVATE)
def test_private_addresses_are_private_not_local(host):
    assert tiers.host_allowed("private", host)
    assert not tiers.host_allowed("local", host)


@pytest.mark.parametrize("host", PUBLIC)
def test_public_hosts_only_in_cloud(host):
    assert tiers.host_allowed("cloud", host)
    assert not tiers.host_allowed("private", host)
    assert not tiers.host_allowed("local", host)


def test_organisation_suffixes_match_at_label_boundaries():
    suffixes = ["corp.example.com"]
    assert tiers.host_allowed("private", "vllm.corp.example.com", suffixes)
    assert tiers.host_allowed("private", "corp.example.com", [".corp.example.com"])
    assert not tiers.host_allowed("private", "evilcorp.example.com", suffixes)
    assert not tiers.host_allowed("private", "corp.example.com.evil.net", suffixes)
    assert not tiers.host_allowed("local", "vllm.corp.example.com", suffixes)


def test_local_tier_refuses_a_non_loopback_url():
    with pytest.raises(TierRefused) as info:
        tiers.check_endpoint("local", "http://10.0.0.7:8000/v1", backend="openai")
    assert "10.0.0.7" in str(info.value) and "local tier" in str(info.value)
    assert "\n" not in str(info.value)
    assert tiers.check_endpoint("local", "http://127.0.0.1:8000/v1", backend="openai") == "127.0.0.1"
    assert tiers.check_endpoint("local", "http://[::1]:8000/v1", backend="openai") == "::1"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@evil.example.com/v1",  # userinfo trick: the host is evil.example.com
        "http://evil.example.com/127.0.0.1",
        "ftp://127.0.0.1/v1",
        "http:///v1",
        "",
        "http://127.0.0.1:99999/v1",
    ],
)
def test_tricky_or_malformed_urls_are_refused_in_local_tier(url):
    with pytest.raises(TierRefused):
        tiers.check_endpoint("local", url)


def test_anthropic_backend_only_in_cloud_tier():
    assert tiers.check_endpoint("cloud", "https://api.anthropic.com", backend="anthropic") == "api.anthropic.com"
    for tier in ("private", "local"):
        with pytest.raises(TierRefused, match="anthropic backend is not allowed"):
            tiers.check_endpoint(tier, "http://127.0.0.1:8080", backend="anthropic")


def test_policy_names_the_classification_when_it_raised_the_tier():
    policy = Policy(user_tier="cloud", classification="export-controlled")
    assert policy.tier == "local"
    with pytest.raises(TierRefused, match="document is export-controlled"):
        policy.check_backend("anthropic", "https://api.anthropic.com")
    with pytest.raises(TierRefused, match="document is export-controlled"):
        policy.check_backend("openai", "https://vllm.example.com/v1")
    assert policy.check_backend("openai", "http://127.0.0.1:8000/v1") == "127.0.0.1"


def test_redirects_outside_the_tier_are_refused():
    assert tiers.check_redirect("local", "http://127.0.0.1:8000/v1/chat", "/v2/chat") == "127.0.0.1"
    assert tiers.check_redirect("local", "http://127.0.0.1:8000/v1", "http://localhost:9000/v1") == "localhost"
    with pytest.raises(TierRefused, match="refused redirect from '127.0.0.1'.*evil.example.com"):
        tiers.check_redirect("local", "http://127.0.0.1:8000/v1", "https://evil.example.com/v1")
    with pytest.raises(TierRefused):
        tiers.check_redirect("private", "http://10.0.0.2/v1", "//api.example.com/v1")  # scheme-relative


def test_httpx_hooks_stop_a_redirect_before_it_is_followed():
    """A real httpx client with the hooks: the second host never sees a request."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "127.0.0.1":
            return httpx.Response(307, headers={"location": "http://evil.example.com/v1/chat"})
        return httpx.Response(200, json={"ok": True})

    hooks = tiers.httpx_event_hooks("local")
    with httpx.Client(transport=httpx.MockTransport(handler), event_hooks=hooks, follow_redirects=True) as client:
        with pytest.raises(TierRefused, match="evil.example.com"):
            client.post("http://127.0.0.1:8000/v1/chat", content=b"{}")
        assert seen == ["http://127.0.0.1:8000/v1/chat"]
        with pytest.raises(TierRefused):
            client.post("http://10.0.0.1/v1/chat", content=b"{}")
        assert len(seen) == 1  # the refused request was never handed to the transport
    # Without the response hook the request hook alone still stops the next hop.
    only_request = {"request": hooks["request"]}
    with httpx.Client(transport=httpx.MockTransport(handler), event_hooks=only_request, follow_redirects=True) as client:
        with pytest.raises(TierRefused):
            client.post("http://127.0.0.1:8000/v1/chat", content=b"{}")
    assert all("evil" not in url for url in seen)


def test_find_refusal_unwraps_sdk_wrapping():
    refusal = TierRefused("refused: no")
    try:
        try:
            raise refusal
        except TierRefused as inner:
            raise RuntimeError("connection error") from inner
    except RuntimeError as outer:
        assert tiers.find_refusal(outer) is refusal
    assert tiers.find_refusal(RuntimeError("x")) is None


def test_raw_geometry_tools_can_be_turned_off_in_cloud_only():
    class Spec:
        def __init__(self, raw):
            self.raw_geometry = raw

    assert Policy(allow_raw_geometry=False).tool_allowed(Spec(False))
    assert not Policy(allow_raw_geometry=False).tool_allowed(Spec(True))
    assert Policy(allow_raw_geometry=True).tool_allowed(Spec(True))
    # In the local tier nothing leaves the machine, so nothing needs hiding.
    assert Policy(user_tier="local", allow_raw_geometry=False).tool_allowed(Spec(True))


# --- markings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("Bracket ITAR", "ITAR"),
        ("bracket_itar_rev2", "ITAR"),
        ("ECCN 9A610.x", "ECCN"),
        ("Subject to the EAR", "EAR"),
        ("EAR99", "EAR"),
        ("part-EAR-controlled", "EAR"),
        ("USML Category XIX", "USML"),
        ("CUI//SP-EXPT", "CUI"),
        ("EXPORT CONTROLLED", "export controlled"),
        ("export-controlled data", "export controlled"),
        ("Export_Controlled", "export controlled"),
        ("Technical data subject to 22 CFR 120-130", "22 CFR 120-130 (ITAR)"),
        ("Company Proprietary", "proprietary"),
    ],
)
def test_markings_found(text, name):
    assert name in [m.name for m in cls.find_markings(text, "t")]


@pytest.mark.parametrize(
    "text",
    ["Year 2024", "bear", "GEAR_HOUSING", "Gear", "ear lug", "Lever_Ear", "guitar", "Sitar", "capital",
     "cuisine", "Pedal", "earthing strap", "Exporter", "reexport", "curious"],
)
def test_ordinary_words_are_not_markings(text):
    assert cls.find_markings(text, "t") == []


def test_label_marking_raises_the_classification(doc):
    add_shape(doc, "Bracket", Part.makeBox(10, 10, 10)).Label = "Bracket (ITAR)"
    result = cls.classify(doc)
    assert result.stored == "unrestricted"
    assert result.level == "export-controlled"
    assert result.raised
    assert result.markings[0].where == "object Bracket.Label"


@pytest.mark.parametrize(
    "field, value",
    [("Comment", "Contains EAR99 technical data"), ("Company", "ACME CUI"), ("Label", "Proj_USML")],
)
def test_document_metadata_markings(doc, field, value):
    setattr(doc, field, value)
    assert cls.classify(doc).level == "export-controlled"


def test_meta_and_file_name_markings(doc):
    doc.Meta = {"Distribution": "Export Controlled"}
    assert cls.classify(doc).level == "export-controlled"
    doc.Meta = {}
    assert cls.classify(doc).level == "unrestricted"
    assert cls.classify(doc, extra_names=["/data/widget_ITAR.step"]).level == "export-controlled"
    assert cls.classify(doc, extra_names=["/data/ITAR/widget.step"]).level == "unrestricted"  # the name, not the folder


def test_detection_never_lowers_the_stored_level(doc):
    cls.set_classification(doc, "proprietary")
    assert cls.classify(doc).level == "proprietary"
    cls.set_classification(doc, "export-controlled")
    assert cls.classify(doc).level == "export-controlled"
    assert not cls.classify(doc).raised


def test_apply_detected_raises_the_stored_setting_only_upwards(doc):
    add_shape(doc, "Lug", Part.makeBox(1, 1, 1)).Label = "Lug proprietary"
    assert cls.apply_detected(doc).stored == "proprietary"
    assert cls.stored_classification(doc) == "proprietary"
    cls.set_classification(doc, "export-controlled")
    assert cls.apply_detected(doc).stored == "export-controlled"  # markings ask for less: not lowered
    with pytest.raises(ValueError, match="unknown classification"):
        cls.set_classification(doc, "top-secret")


def test_classification_survives_save_and_reopen(tmp_path):
    document = FreeCAD.newDocument("ClassifiedSave")
    add_shape(document, "Plate", Part.makeBox(20, 10, 2))
    cls.set_classification(document, "proprietary")
    path = tmp_path / "plate.FCStd"
    document.saveAs(str(path))
    FreeCAD.closeDocument(document.Name)
    reopened = FreeCAD.openDocument(str(path))
    try:
        assert cls.stored_classification(reopened) == "proprietary"
        assert cls.classify(reopened).level == "proprietary"
    finally:
        FreeCAD.closeDocument(reopened.Name)
