"""Canonical contact addresses: exactly one mailbox, or one E.164 number.

Boundary: pure functions, no I/O, clock or configuration. Whatever compares, stores or
sends to an address goes through them: where contacts enter (``Engine.execute``, bulk
enrolment, ``dee start``), the policy gate (again, for runs started straight through
Temporal), the suppression and consent tables, and the channel adapters. So no other
spelling of an address can reach a mailbox or a phone that a suppression names.

E-mail. The value must be exactly one mailbox: ``local@domain``, or one display name
and ``<local@domain>`` (the name is dropped). Refused: lists (``,`` or ``;``), groups
and routes (``:``), comments (``(...)``), address literals (``[...]``), text around or
between ``<...>``, whitespace inside the address, control and format characters
(CR, LF, NUL, TAB, zero-width and bidi marks), an empty local part or domain, a
local part that is not ASCII. A quoted local part is unquoted when that changes
nothing (``"victim"@example.com`` is ``victim@example.com``) and refused otherwise.
The domain is IDNA-encoded with the UTS 46 mapping (``BÜCHER.example`` becomes
``xn--bcher-kva.example``), lower-cased, without a trailing root dot. The canonical
form keeps the local part's case (it is the mailbox owner's spelling); comparisons
use ``email_key``, the canonical form lower-cased as a whole: a suppression errs on
the side of matching, never of sending. Sub-addresses (``victim+tag@``) and
provider-specific aliases (dots in some mailboxes) are distinct mailboxes here.

Phone. Digits with optional spaces, ``( ) - . /`` separators; international form
``+<country code>...`` or ``00<country code>...``; a national number (neither prefix)
is read in the contact's ``country`` (an ISO 3166-1 alpha-2 code) and refused without
one. The number must be *possible* for its country code (right length), as the plan
validator asks of caller ids: the documents' own examples are in the fictional 555
range, which "valid" would refuse. The canonical form is E.164 (``+12125550100``).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from typing import Any

import idna
import phonenumbers

# RFC 5322 caps a line at 998 characters: a longer value is no address, and bounding
# it bounds the work the checks below do on hostile input.
MAX_INPUT = 998
MAX_ADDRESS = 254  # RFC 5321 path limit, minus the angle brackets
MAX_LOCAL = 64
MAX_DOMAIN = 253
MAX_PHONE_INPUT = 64

_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# Control, format, separator (line/paragraph), surrogate, private-use and unassigned.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_PHONE = re.compile(r"\+?[0-9 ().\-/]+")


class AddressError(ValueError):
    """A value is not exactly one mailbox, or not a usable phone number.

    ``str(exc)`` says what is wrong *without* repeating the value (callers that may
    show it, such as the CLI, add it): reasons end up in audit details, which hold
    no raw personal data.
    """


class ContactAddressError(AddressError):
    """A contact's ``email`` or ``phone`` field is refused; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def canonical_email(value: object) -> str:
    """The canonical form of one mailbox (see the module notes).

    Raises:
        AddressError: ``value`` is not exactly one mailbox.
    """
    text = _text(value, MAX_INPUT)
    _refuse_structure(text)
    local, domain = _addr_spec(_inside_angles(text))
    address = f"{_local_part(local)}@{_domain(domain)}"
    if len(address) > MAX_ADDRESS:
        raise AddressError(f"is longer than {MAX_ADDRESS} characters as an address")
    return address


def email_key(value: object) -> str:
    """What suppressions store and compare: the canonical mailbox, lower-cased whole.

    Raises:
        AddressError: ``value`` is not exactly one mailbox.
    """
    return canonical_email(value).lower()


def canonical_phone(value: object, country: object = None) -> str:
    """The E.164 form of one phone number; a national number needs ``country``.

    Raises:
        AddressError: not a possible number, or national without a known country.
    """
    text = _text(value, MAX_PHONE_INPUT)
    if not _PHONE.fullmatch(text) or not any(c.isdigit() for c in text):
        raise AddressError(
            "is not a phone number: only digits, a leading '+', spaces and ( ) - . / are allowed"
        )
    region = None
    if text.startswith("00"):  # the ITU-T international prefix, as a '+'
        text = "+" + text[2:]
    if not text.startswith("+"):
        region = _region(country)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise AddressError("is not a phone number") from None
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise AddressError("is not a possible number for its country code (length or code)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def canonical_contact(contact: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``contact`` whose ``email`` and ``phone`` are canonical.

    A field that is absent, ``None`` or ``""`` stays as it is (the contact has none);
    any other value must be exactly one mailbox / one possible number.

    Raises:
        ContactAddressError: naming the field that is refused.
    """
    out = dict(contact)
    email = contact.get("email")
    if email is not None and email != "":
        try:
            out["email"] = canonical_email(email)
        except AddressError as exc:
            raise ContactAddressError("email", str(exc)) from None
    phone = contact.get("phone")
    if phone is not None and phone != "":
        try:
            out["phone"] = canonical_phone(phone, contact.get("country"))
        except AddressError as exc:
            raise ContactAddressError("phone", str(exc)) from None
    return out


def canonical_key(key: str) -> str:
    """The canonical form of a contact key: an e-mail key, an E.164 number, or the id.

    A key is an e-mail address when it holds an ``@`` (it must then be exactly one
    mailbox), a phone number when it starts with ``+`` (it must then be a possible
    number), and a contact id otherwise (returned stripped). Suppressions and consent
    records are stored under these forms; the policy package and the migration that
    rewrote older rows both read them here, so the two cannot drift apart.

    Raises:
        AddressError: an address that is not exactly one mailbox, or a ``+`` number
            that is not a possible phone number.
    """
    key = key.strip()
    if "@" in key:
        return email_key(key)
    if key.startswith("+"):
        return canonical_phone(key)
    return key


def id_key(contact_id: str) -> str:
    """A contact id as consent records store it: its canonical form, when it has one."""
    try:
        return canonical_key(contact_id)
    except AddressError:  # an id is opaque: one that is no address stays as given
        return contact_id.strip()


def _text(value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise AddressError(f"must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise AddressError(f"is longer than {limit} characters")
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            # CR/LF would inject headers; NUL, TAB, zero-width and bidi marks make two
            # strings that look alike differ (or one that looks single hide a second).
            raise AddressError(f"contains the control or format character U+{ord(char):04X}")
    text = value.strip(" ")
    if not text:
        raise AddressError("is blank")
    return text


def _outside_quotes(text: str) -> list[tuple[int, str]]:
    """Each character outside double-quoted strings, with its index."""
    found: list[tuple[int, str]] = []
    quoted = escaped = False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted:
            found.append((i, char))
    if quoted:
        raise AddressError("has an unclosed '\"'")
    return found


def _refuse_structure(text: str) -> None:
    """Refuse what makes the value more (or other) than one mailbox."""
    chars = [c for _, c in _outside_quotes(text)]
    if ":" in chars:
        raise AddressError("is a group or a source route (':'), not exactly one mailbox")
    if "," in chars or ";" in chars:
        raise AddressError("is a list of addresses (',' or ';'), not exactly one mailbox")
    if "(" in chars or ")" in chars:
        raise AddressError("has a comment ('(...)'); give the address alone")
    if "[" in chars or "]" in chars:
        raise AddressError("has an address literal ('[...]'); give a domain name")
    if chars.count("<") > 1 or chars.count(">") > 1:
        raise AddressError("has more than one '<...>', not exactly one mailbox")


def _inside_angles(text: str) -> str:
    """The addr-spec: all of ``text``, or what ``display name <...>`` encloses."""
    marks = {c: i for i, c in _outside_quotes(text) if c in "<>"}
    if not marks:
        return text
    if "<" not in marks or ">" not in marks or marks[">"] != len(text) - 1:
        raise AddressError("has a '<' or '>' out of place (expected 'Name <local@domain>')")
    phrase = text[: marks["<"]]
    if "@" in [c for _, c in _outside_quotes(phrase)]:
        raise AddressError("has an '@' before '<': two addresses, not exactly one mailbox")
    if any(c == "\\" for _, c in _outside_quotes(phrase)):
        raise AddressError("has a '\\' outside quotes in its display name")
    return text[marks["<"] + 1 : -1].strip(" ")


def _addr_spec(spec: str) -> tuple[str, str]:
    """``local`` (unquoted) and ``domain`` of ``local@domain``."""
    if spec.startswith('"'):
        local, end = _quoted(spec)
        if spec[end : end + 1] != "@":
            raise AddressError("has text between the quoted local part and '@'")
        domain = spec[end + 1 :]
    else:
        local, at, domain = spec.partition("@")
        if not at:
            raise AddressError("has no '@'")
        if '"' in local:
            raise AddressError("has a '\"' inside its local part")
    if "@" in domain:
        raise AddressError("has more than one '@'")
    return local, domain


def _quoted(spec: str) -> tuple[str, int]:
    """The content of the quoted string opening ``spec``, and the index after it."""
    content: list[str] = []
    i = 1
    while i < len(spec):
        char = spec[i]
        if char == "\\" and i + 1 < len(spec):
            content.append(spec[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(content), i + 1
        content.append(char)
        i += 1
    raise AddressError("has an unclosed '\"'")


def _local_part(local: str) -> str:
    if not local:
        raise AddressError("has an empty local part (nothing before '@')")
    if not local.isascii():
        raise AddressError("has a non-ASCII local part (not supported)")
    if any(c not in _ATEXT and c != "." for c in local):
        # Only a quoted local part can get here with a space or a special: one that
        # needs its quotes is a mailbox few systems handle alike, so none is accepted.
        raise AddressError("has a local part with spaces or special characters")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError("has a local part with a leading, trailing or double '.'")
    if len(local) > MAX_LOCAL:
        raise AddressError(f"has a local part longer than {MAX_LOCAL} characters")
    return local


def _domain(domain: str) -> str:
    if domain.endswith("."):  # the DNS root: the same domain
        domain = domain[:-1]
    if not domain:
        raise AddressError("has no domain (nothing after '@')")
    try:
        encoded = idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise AddressError("has a domain that is not a valid host name (IDNA)") from None
    if len(encoded) > MAX_DOMAIN or not _HOST.fullmatch(encoded):
        raise AddressError("has a domain that is not a valid host name")
    if encoded.rsplit(".", 1)[-1].isdigit():
        raise AddressError("has a numeric top-level label (an IP address is no domain)")
    return encoded


def _region(country: object) -> str:
    if country is None or country == "":
        raise AddressError(
            "is a national number (no '+' or '00'): the contact needs a country "
            "(ISO 3166-1 alpha-2, e.g. US) to read it, or give it in international form"
        )
    code = country.upper() if isinstance(country, str) else ""
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise AddressError(
            f"is a national number and the contact's country {str(country)[:40]!r} is not "
            "an ISO 3166-1 alpha-2 code (e.g. US, GB)"
        )
    return code


__all__ = [
    "AddressError",
    "ContactAddressError",
    "canonical_contact",
    "canonical_email",
    "canonical_key",
    "canonical_phone",
    "email_key",
    "id_key",
]
