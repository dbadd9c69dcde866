"""``adapters.addresses``: one canonical form per mailbox and per phone number.

The suppression bypass of issue 18: ``Victim <victim@example.com>``,
``"victim"@example.com`` and ``victim@EXAMPLE.com, other@example.com`` each reached a
suppressed mailbox, because the gate compared raw strings. The properties here: any
spelling of a mailbox has the same key (so a suppression of one blocks all), the
canonical form is a fixed point, and whatever is more or other than one mailbox is
refused, never read as one of its parts.
"""

from __future__ import annotations

import email.utils
import re

import idna
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.addresses import (
    AddressError,
    ContactAddressError,
    canonical_contact,
    canonical_email,
    canonical_phone,
    email_key,
)
from adapters.policy.errors import PolicyInputError
from adapters.policy.keys import contact_keys, id_keys, normalize_key

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VICTIM = "victim@example.com"

# --- the issue's three reproductions ---------------------------------------------------


def test_the_three_forms_of_the_issue_are_the_victim_or_refused() -> None:
    assert email_key("Victim <victim@example.com>") == VICTIM
    assert email_key('"victim"@example.com') == VICTIM
    with pytest.raises(AddressError, match="is a list of addresses"):
        canonical_email("victim@EXAMPLE.com, other@example.com")


@pytest.mark.parametrize(
    ("form", "canonical"),
    [
        ("victim@example.com", "victim@example.com"),
        ("  Victim@EXAMPLE.com  ", "Victim@example.com"),
        ("<victim@example.com>", "victim@example.com"),
        ('"The Victim, Esq." <victim@example.com>', "victim@example.com"),
        ("Dr. V. Ictim <victim@example.com>", "victim@example.com"),
        ('"vic\\tim"@example.com', "victim@example.com"),
        ("victim@example.com.", "victim@example.com"),
        ("victim@BÜCHER.example", "victim@xn--bcher-kva.example"),
        ("victim@XN--BCHER-KVA.example", "victim@xn--bcher-kva.example"),
        # full-width letters and an ideographic full stop
        ("victim@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\u3002com", "victim@example.com"),
        ('"Victim <victim@example.com>" <other@example.org>', "other@example.org"),
    ],
)
def test_accepted_forms_and_their_canonical_form(form: str, canonical: str) -> None:
    assert canonical_email(form) == canonical
    assert canonical_email(canonical) == canonical


@pytest.mark.parametrize(
    ("form", "why"),
    [
        ("victim@example.com; other@example.com", "is a list"),
        ("victim@example.com,", "is a list"),
        ("friends: victim@example.com;", "is a group"),
        ("<@relay.example:victim@example.com>", "is a group or a source route"),
        ("victim(other@example.com)@example.com", "has a comment"),
        ("victim@example.com (other@example.com)", "has a comment"),
        ("victim@[192.0.2.1]", "address literal"),
        ("victim@example.com <other@example.com>", "has an '@' before '<'"),
        ("A <victim@example.com> <other@example.com>", "more than one"),
        ("<victim@example.com> trailing", "out of place"),
        ("victim@example.com\r\nBcc: other@example.com", "U+000D"),
        ("victim@example.com\x00other@example.com", "U+0000"),
        ("vic\u200btim@example.com", "U+200B"),
        ("victim@exa\u202emple.com", "U+202E"),
        ("@example.com", "empty local part"),
        ('""@example.com', "empty local part"),
        ("victim@", "no domain"),
        ("victim", "no '@'"),
        ("victim@other@example.com", "more than one '@'"),
        ('"victim@other"@example.com', "spaces or special characters"),
        ('"vic tim"@example.com', "spaces or special characters"),
        ("vic tim@example.com", "spaces or special characters"),
        ("victim..x@example.com", "double '.'"),
        ("vĭctim@example.com", "non-ASCII local part"),
        ("victim@exa_mple.com", "not a valid host name"),
        ("victim@192.0.2.1", "numeric top-level label"),
        ("", "is blank"),
        ("x" * 999, "longer than 998"),
    ],
)
def test_what_is_not_exactly_one_mailbox_is_refused(form: str, why: str) -> None:
    with pytest.raises(AddressError, match=re.escape(why)):
        canonical_email(form)


def test_a_non_string_is_refused() -> None:
    with pytest.raises(AddressError, match="must be a string, not list"):
        canonical_email(["victim@example.com", "other@example.com"])


# --- strategies ------------------------------------------------------------------------

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
# Letters whose upper case maps back under UTS 46 (not "ß", whose upper case is "SS").
UNICODE_LETTERS = "äöüéèçñåøł"
atoms = st.text(ATEXT, min_size=1, max_size=8)
locals_ = st.lists(atoms, min_size=1, max_size=3).map(".".join)
labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789" + UNICODE_LETTERS, min_size=1, max_size=10)
tlds = st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6)
domains = st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(labels, max_size=2), tlds)
mailboxes = st.tuples(locals_, domains)


def _recase(text: str, mask: list[bool]) -> str:
    padded = mask + [False] * len(text)
    return "".join(c.upper() if up else c for c, up in zip(text, padded, strict=False))


@st.composite
def spellings(draw: st.DrawFn, mailbox: tuple[str, str]) -> str:
    """Another spelling of the same mailbox: case, quoting, IDNA, brackets, names."""
    local, domain = mailbox
    masks = st.lists(st.booleans(), max_size=80)
    local = _recase(local, draw(masks))
    if draw(st.booleans()):
        domain = idna.encode(domain, uts46=True).decode()
    domain = _recase(domain, draw(masks))
    if draw(st.booleans()):
        domain += "."
    if draw(st.booleans()):  # a quoted local part, some characters as quoted pairs
        escapes = draw(st.lists(st.booleans(), min_size=len(local), max_size=len(local)))
        pairs = zip(local, escapes, strict=True)
        local = '"' + "".join("\\" + c if e else c for c, e in pairs) + '"'
    address = f"{local}@{domain}"
    frame = draw(st.sampled_from(["bare", "angle", "name", "quoted-name"]))
    if frame == "angle":
        address = f"<{address}>"
    elif frame == "name":
        name = draw(st.text("ABCxyz .Ünï", min_size=1, max_size=12))
        address = f"{name} <{address}>"
    elif frame == "quoted-name":
        name = draw(st.text('ABC xyz,;:<>@()[]"\\.Ü', max_size=16))
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        address = f'"{quoted}" <{address}>'
    pad = draw(st.sampled_from(["", " ", "  "]))
    return pad + address + pad


@st.composite
def mailbox_and_spelling(draw: st.DrawFn) -> tuple[str, str]:
    mailbox = draw(mailboxes)
    return f"{mailbox[0]}@{mailbox[1]}", draw(spellings(mailbox))


# --- properties ------------------------------------------------------------------------


@PROPERTY
@given(mailbox_and_spelling())
def test_every_spelling_of_a_mailbox_has_its_key(pair: tuple[str, str]) -> None:
    plain, spelling = pair
    assert email_key(spelling) == email_key(plain)
    canonical = canonical_email(spelling)
    assert canonical_email(canonical) == canonical  # a fixed point
    assert canonical.isascii() and canonical.count("@") == 1


@PROPERTY
@given(st.lists(mailbox_and_spelling(), min_size=2, max_size=3), st.sampled_from([",", ";"]))
def test_a_list_of_mailboxes_is_refused(pairs: list[tuple[str, str]], separator: str) -> None:
    with pytest.raises(AddressError, match="list of addresses"):
        canonical_email((separator + " ").join(spelling for _, spelling in pairs))


@PROPERTY
@given(
    mailbox_and_spelling(),
    st.sampled_from(["\r", "\n", "\x00", "\t", "\x7f", "\u200b", "\u202e", "\u2028", "\ufeff"]),
    st.integers(min_value=0),
)
def test_a_control_or_format_character_anywhere_is_refused(
    pair: tuple[str, str], char: str, at: int
) -> None:
    spelling = pair[1]
    at %= len(spelling) + 1
    with pytest.raises(AddressError, match="control or format character"):
        canonical_email(spelling[:at] + char + spelling[at:])


# Hostile text around the victim's address: what the standard library's lenient parser
# reads as naming the victim must be refused, or be the victim.
TOKENS = st.sampled_from(
    [VICTIM, "Victim@EXAMPLE.com", '"victim"', "victim", "@", "example.com", "other@example.org",
     ",", ";", ":", "<", ">", "(", ")", '"', "\\", " ", ".", "Name", "[", "]"]
)  # fmt: skip


@PROPERTY
@given(st.lists(TOKENS, min_size=1, max_size=10).map("".join))
def test_hostile_text_is_refused_or_is_one_canonical_mailbox(text: str) -> None:
    try:
        canonical = canonical_email(text)
    except AddressError:
        return
    assert canonical_email(canonical) == canonical
    assert email_key(text) == canonical.lower()
    seen = [addr.lower() for _, addr in email.utils.getaddresses([text]) if addr]
    if VICTIM in seen:
        assert canonical.lower() == VICTIM, (text, seen)


@PROPERTY
@given(st.text(max_size=40), st.sampled_from([None, "US", "GB", "zz", 7]))
def test_any_text_is_refused_as_an_address_error_or_is_a_fixed_point(
    text: str, country: object
) -> None:
    for canonical_of in (canonical_email, lambda v: canonical_phone(v, country)):
        try:
            canonical = canonical_of(text)
        except AddressError:
            continue
        assert canonical_of(canonical) == canonical


# --- phone numbers ---------------------------------------------------------------------

NUMBERS = [("GB", "2071838750"), ("US", "2125550100"), ("DE", "30123456"), ("FR", "123456789"),
           ("JP", "312345678"), ("IN", "9123456789"), ("US", "5555550102")]  # fmt: skip


def _separated(draw: st.DrawFn, digits: str) -> str:
    seps = draw(st.lists(st.sampled_from(["", "", " ", "-", ".", "/"]), min_size=len(digits)))
    return "".join(d + s for d, s in zip(digits, seps, strict=False)).rstrip(" -./")


@st.composite
def phone_spellings(draw: st.DrawFn) -> tuple[str, str, str]:
    """(E.164, a spelling, the region it is read in)."""
    region, national = draw(st.sampled_from(NUMBERS))
    code = phonenumbers.country_code_for_region(region)
    e164 = f"+{code}{national}"
    parsed = phonenumbers.parse(e164)
    style = draw(st.sampled_from(["plus", "00", "national", "formatted"]))
    if style == "plus":
        spelling = "+" + _separated(draw, f"{code}{national}")
    elif style == "00":
        spelling = "00" + _separated(draw, f"{code}{national}")
    elif style == "national":
        digits = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        spelling = _separated(draw, "".join(c for c in digits if c.isdigit()))
    else:
        spelling = phonenumbers.format_number(
            parsed,
            draw(st.sampled_from([phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                                  phonenumbers.PhoneNumberFormat.NATIONAL])),
        )  # fmt: skip
    return e164, f" {spelling} " if draw(st.booleans()) else spelling, region


@PROPERTY
@given(phone_spellings())
def test_every_spelling_of_a_number_is_its_e164(triple: tuple[str, str, str]) -> None:
    e164, spelling, region = triple
    assert canonical_phone(spelling, region) == e164
    assert canonical_phone(e164) == e164  # a fixed point, needing no region
    if spelling.strip().startswith(("+", "00")):
        assert canonical_phone(spelling) == e164  # international: the region is not needed
    contact = {"id": "c1", "phone": spelling, "country": region.lower()}
    assert e164 in contact_keys(contact)


@PROPERTY
@given(phone_spellings(), phone_spellings(), st.sampled_from([",", ";", " or ", "\n"]))
def test_two_numbers_in_one_field_are_refused(
    one: tuple[str, str, str], two: tuple[str, str, str], separator: str
) -> None:
    with pytest.raises(AddressError):
        canonical_phone(one[1] + separator + two[1], one[2])


@pytest.mark.parametrize(
    ("form", "country", "why"),
    [
        ("(212) 555-0100", None, "needs a country"),
        ("(212) 555-0100", "United States", "not an ISO 3166-1 alpha-2 code"),
        ("+1 212 555 0100 ext 7", None, "only digits"),
        ("1-800-FLOWERS", "US", "only digits"),
        ("+1 212 555 0100+", None, "not a phone number"),
        ("+0123", None, "not a phone number"),
        ("+1 212", None, "not a possible number"),
        ("\uff10\uff12\uff10 \uff17\uff11\uff18\uff13", "GB", "only digits"),  # full-width
    ],
)
def test_what_is_not_one_possible_number_is_refused(
    form: str, country: str | None, why: str
) -> None:
    with pytest.raises(AddressError, match=why):
        canonical_phone(form, country)


# --- contacts and operator keys --------------------------------------------------------


def test_a_contact_gets_canonical_fields_or_a_refusal_naming_the_field() -> None:
    contact = {"id": "c1", "email": "Victim <victim@EXAMPLE.com>", "phone": "020 7183 8750",
               "country": "GB", "first_name": "V"}  # fmt: skip
    assert canonical_contact(contact) == {**contact, "email": VICTIM, "phone": "+442071838750"}
    assert canonical_contact({"id": "c1", "email": "", "phone": None}) == {
        "id": "c1", "email": "", "phone": None,
    }  # fmt: skip
    with pytest.raises(ContactAddressError) as refused:
        canonical_contact({"id": "c1", "email": "victim@example.com, other@example.com"})
    assert refused.value.field == "email" and str(refused.value).startswith("email: is a list")
    with pytest.raises(PolicyInputError, match=r"^contact\.phone: is a national number"):
        contact_keys({"id": "c1", "phone": "2125550100"})


def test_operator_keys_are_canonical_and_a_list_is_refused() -> None:
    assert normalize_key(' "Victim" <Victim@EXAMPLE.com.> ') == VICTIM
    assert normalize_key("+1 (212) 555-0100") == "+12125550100"
    assert normalize_key("crm-42") == "crm-42"
    with pytest.raises(PolicyInputError, match=r"contact_key: 'a@example\.com, b@example\.com' is"):
        normalize_key("a@example.com, b@example.com")
    with pytest.raises(PolicyInputError, match="not a possible number"):
        normalize_key("+1 212")
    # A contact id is opaque: never refused, matched as given and in canonical form.
    assert id_keys("Ann@Example.com") == ["Ann@Example.com", "ann@example.com"]
    assert id_keys("weird@@id") == ["weird@@id"]
