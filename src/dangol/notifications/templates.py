"""E-mail templates: Jinja2, sandboxed, one subject, plain text and HTML per kind of message
and language. A program may replace the built-in ones; a template is compiled when saved and
refused there with the line of its error, so nothing fails at send time for its syntax.

A template sees the outbox row's payload (`points`, `expires_on`, `to_tier`, ...), `program`
(its name) and `unsubscribe_url`. `{{ points | points }}` writes 12,345."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ..domain.errors import InvalidRequest

PARTS = ("subject", "text", "html")


class InvalidTemplate(InvalidRequest):
    """A template that does not compile; `field` names the part, `line` its line."""

    def __init__(self, part: str, line: int | None, message: str) -> None:
        where = f" (line {line})" if line else ""
        super().__init__(f"{part}{where}: {message}", field=part, line=line)


class RenderFailed(Exception):
    """A saved template that failed on its data (an unknown variable): the delivery is dead."""


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    text: str
    html: str

    def as_json(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def _points(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _environment(html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["points"] = _points
    return env


_TEXT, _HTML = _environment(False), _environment(True)


def check(template: Template) -> Template:
    """The template if every part compiles; else InvalidTemplate with the part and line."""
    for part in PARTS:
        source = getattr(template, part)
        if not isinstance(source, str) or not source.strip():
            raise InvalidTemplate(part, None, "must be a non-empty string")
        if part == "subject" and "\n" in source.strip():
            raise InvalidTemplate(part, None, "a subject is one line")
        try:
            (_HTML if part == "html" else _TEXT).parse(source)
        except TemplateSyntaxError as error:
            raise InvalidTemplate(part, error.lineno, error.message or "syntax error") from None
    return template


def render(template: Template, context: Mapping[str, Any]) -> Rendered:
    try:
        return Rendered(_TEXT.from_string(template.subject).render(context).strip(),
                        _TEXT.from_string(template.text).render(context),
                        _HTML.from_string(template.html).render(context))
    except (UndefinedError, SecurityError, TypeError, ValueError) as error:
        raise RenderFailed(str(error)) from None


def _t(subject: str, text: str) -> Template:
    """A built-in template: the HTML part is the text part in paragraphs."""
    paragraphs = "".join(f"<p>{line}</p>" for line in text.strip().split("\n\n"))
    footer = '<p><a href="{{ unsubscribe_url }}">{{ unsubscribe_label }}</a></p>'
    return Template(subject, text + "\n{{ unsubscribe_label }}: {{ unsubscribe_url }}\n",
                    f"<html><body>{paragraphs}{footer}</body></html>")


BUILT_IN: Mapping[tuple[str, str], Template] = {
    ("points.expiring", "ko"): _t("[{{ program }}] {{ points | points }} 포인트가 {{ expires_on }}에 소멸됩니다",
                                  "{{ points | points }} 포인트가 {{ expires_on }}에 소멸될 예정입니다.\n\n"
                                  "소멸 전에 사용해 주세요."),
    ("points.expiring", "en"): _t("[{{ program }}] {{ points | points }} points expire on {{ expires_on }}",
                                  "{{ points | points }} of your points expire on {{ expires_on }}.\n\n"
                                  "Use them before then."),
    ("points.earned", "ko"): _t("[{{ program }}] {{ points | points }} 포인트가 적립되었습니다",
                                "{{ points | points }} 포인트가 적립되었습니다."),
    ("points.earned", "en"): _t("[{{ program }}] You earned {{ points | points }} points",
                                "You earned {{ points | points }} points."),
    ("points.expired", "ko"): _t("[{{ program }}] {{ points | points }} 포인트가 소멸되었습니다",
                                 "{{ points | points }} 포인트가 유효기간이 지나 소멸되었습니다."),
    ("points.expired", "en"): _t("[{{ program }}] {{ points | points }} points expired",
                                 "{{ points | points }} of your points reached the end of their validity."),
    ("tier.changed", "ko"): _t("[{{ program }}] 등급이 {{ to_tier }}(으)로 변경되었습니다",
                               "회원 등급이 {{ from_tier or '없음' }}에서 {{ to_tier }}(으)로 변경되었습니다."),
    ("tier.changed", "en"): _t("[{{ program }}] Your tier is now {{ to_tier }}",
                               "Your tier changed from {{ from_tier or 'none' }} to {{ to_tier }}."),
    ("statement.monthly", "ko"): _t("[{{ program }}] {{ month }} 포인트 명세서",
                                    "{{ month }} 적립 {{ earned | points }}, 사용 {{ redeemed | points }}, "
                                    "소멸 {{ expired | points }} 포인트.\n\n현재 잔액: {{ balance | points }} 포인트."),
    ("statement.monthly", "en"): _t("[{{ program }}] Your points statement for {{ month }}",
                                    "In {{ month }}: earned {{ earned | points }}, redeemed {{ redeemed | points }}, "
                                    "expired {{ expired | points }} points.\n\nBalance: {{ balance | points }} points."),
    ("coupon.issued", "ko"): _t("[{{ program }}] 쿠폰이 발급되었습니다: {{ name }}",
                                "{{ name }} 쿠폰이 발급되었습니다. 유효기간: {{ expires_on }}."),
    ("coupon.issued", "en"): _t("[{{ program }}] A coupon for you: {{ name }}",
                                "You have a new coupon, {{ name }}, valid until {{ expires_on }}."),
}
UNSUBSCRIBE_LABEL = {"ko": "수신 거부", "en": "Unsubscribe"}


def from_json(body: Mapping[str, object]) -> Template:
    values: list[str] = []
    for part in PARTS:
        value = body.get(part)
        if not isinstance(value, str):
            raise InvalidTemplate(part, None, "must be a non-empty string")
        values.append(value)
    return check(Template(*values))
