"""A restricted SOQL parser: enough for the integration's reads, and honest about the rest.

Supported (API-NOTES §1.5): ``SELECT`` fields including parent dotted fields, ``FROM`` one
object, ``WHERE`` with AND/OR/NOT and parentheses, ``= != <> < > <= >= IN NOT IN LIKE`` over
strings, numbers, booleans, date and datetime literals and ``null``, ``ORDER BY`` with
ASC/DESC and NULLS FIRST/LAST, ``LIMIT``. Anything else is a 400 MALFORMED_QUERY rather than a
silently wrong answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sandboxes.salesforce.errors import malformed

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    pos: int

    def keyword(self, *words: str) -> bool:
        return self.kind == "name" and self.text.upper() in words


@dataclass(frozen=True, slots=True)
class FieldRef:
    path: str
    pos: int


@dataclass(frozen=True, slots=True)
class Comparison:
    field: FieldRef
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Junction:
    op: str
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    part: Condition


Condition = Comparison | Junction | Negation


@dataclass(frozen=True, slots=True)
class Ordering:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]
    sobject: FieldRef
    where: Condition | None
    order: tuple[Ordering, ...]
    limit: int | None


def error_at(text: str, pos: int, message: str) -> str:
    """Salesforce points at the offending column: ``ERROR at Row:1:Column:N``."""
    return f"\n{text}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{message}"


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None:
            raise malformed(error_at(text, pos, f"unexpected token: '{text[pos]}'"))
        if found.lastgroup != "ws":
            tokens.append(Token(str(found.lastgroup), found.group(), pos))
        pos = found.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed(error_at(self.text, len(self.text), "unexpected end of query"))
        self.at += 1
        return token

    def fail(self, token: Token | None) -> Exception:
        if token is None:
            return malformed(error_at(self.text, len(self.text), "unexpected end of query"))
        return malformed(error_at(self.text, token.pos, f"unexpected token: '{token.text}'"))

    def expect(self, *words: str) -> Token:
        token = self.take()
        if not token.keyword(*words):
            raise self.fail(token)
        return token

    def name(self) -> FieldRef:
        token = self.take()
        if token.kind != "name":
            raise self.fail(token)
        return FieldRef(token.text, token.pos)

    def query(self) -> Query:
        self.expect("SELECT")
        fields = [self.name()]
        while (token := self.peek()) is not None and token.text == ",":
            self.take()
            fields.append(self.name())
        self.expect("FROM")
        sobject = self.name()
        where = self.condition() if self._keyword("WHERE") else None
        order = self.ordering() if self._keyword("ORDER") else ()
        limit = self.limit() if self._keyword("LIMIT") else None
        if self.peek() is not None:
            raise self.fail(self.peek())
        return Query(self.text, tuple(fields), sobject, where, order, limit)

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.keyword(word):
            self.at += 1
            return True
        return False

    def condition(self) -> Condition:
        return self._junction("OR", lambda: self._junction("AND", self.term))

    def _junction(self, op: str, part: Any) -> Condition:
        parts = [part()]
        while self._keyword(op):
            parts.append(part())
        return parts[0] if len(parts) == 1 else Junction(op, tuple(parts))

    def term(self) -> Condition:
        if self._keyword("NOT"):
            return Negation(self.term())
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.condition()
            if self.take().text != ")":
                raise self.fail(self.tokens[self.at - 1])
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.name()
        token = self.take()
        if token.kind == "op":
            return Comparison(field, "!=" if token.text == "<>" else token.text, self.literal())
        if token.keyword("LIKE"):
            return Comparison(field, "LIKE", self.literal())
        if token.keyword("NOT"):
            self.expect("IN")
            return Comparison(field, "NOT IN", self.values())
        if token.keyword("IN"):
            return Comparison(field, "IN", self.values())
        raise self.fail(token)

    def values(self) -> tuple[Any, ...]:
        if self.take().text != "(":
            raise self.fail(self.tokens[self.at - 1])
        values = [self.literal()]
        while (token := self.take()).text == ",":
            values.append(self.literal())
        if token.text != ")":
            raise self.fail(token)
        return tuple(values)

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(
                r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token.text[1:-1]
            )
        if token.kind == "number":
            return float(token.text)
        if token.kind == "datetime":
            return datetime.fromisoformat(token.text.replace("Z", "+00:00"))
        if token.kind == "date":
            return date.fromisoformat(token.text)
        if token.keyword("TRUE", "FALSE"):
            return token.text.upper() == "TRUE"
        if token.keyword("NULL"):
            return None
        raise self.fail(token)

    def ordering(self) -> tuple[Ordering, ...]:
        self.expect("BY")
        orders = [self._one_order()]
        while (token := self.peek()) is not None and token.text == ",":
            self.take()
            orders.append(self._one_order())
        return tuple(orders)

    def _one_order(self) -> Ordering:
        field = self.name()
        descending = self._keyword("DESC")
        if not descending:
            self._keyword("ASC")
        nulls_last = descending
        if self._keyword("NULLS"):
            nulls_last = self.expect("FIRST", "LAST").text.upper() == "LAST"
        return Ordering(field, descending, nulls_last)

    def limit(self) -> int:
        token = self.take()
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise self.fail(token)
        return int(token.text)


def parse(text: str) -> Query:
    return _Parser(text.strip()).query()
