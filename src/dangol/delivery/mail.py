"""E-mail over SMTP with the standard library's smtplib: STARTTLS and login when configured,
a plain-text and an HTML part, RFC 8058 one-click unsubscribe headers.

A permanent refusal (an SMTP 5xx reply to the recipient or the message) is a bounce: the
dispatcher marks the address and stops. Anything else (a server down, a 4xx, a timeout) is
tried again later."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..notifications.templates import Rendered
from .attempt import Attempt

ENV_PREFIX = "DANGOL_SMTP_"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "dangol@localhost"
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        """From DANGOL_SMTP_HOST, _PORT, _STARTTLS (1/true), _USERNAME, _PASSWORD, _FROM,
        _TIMEOUT; None when no host is set (no e-mail is sent)."""
        host = env.get(ENV_PREFIX + "HOST")
        if not host:
            return None
        return cls(host=host, port=int(env.get(ENV_PREFIX + "PORT", "25")),
                   starttls=env.get(ENV_PREFIX + "STARTTLS", "").lower() in ("1", "true", "yes"),
                   username=env.get(ENV_PREFIX + "USERNAME") or None, password=env.get(ENV_PREFIX + "PASSWORD") or None,
                   sender=env.get(ENV_PREFIX + "FROM", "dangol@localhost"),
                   timeout=float(env.get(ENV_PREFIX + "TIMEOUT", "10")))


# Lines up to RFC 5322's 998 characters: a long List-Unsubscribe URL must stay one plain
# header, not be folded into encoded words that no mail client would take for a link.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)


def message(sender: str, to: str, rendered: Rendered, delivery_id: str, unsubscribe_url: str | None) -> EmailMessage:
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"], mail["To"], mail["Subject"] = sender, to, rendered.subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(idstring=delivery_id, domain=sender.rpartition("@")[2] or None)
    mail["X-Dangol-Delivery"] = delivery_id
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    return mail


class MailSender:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, to: str, rendered: Rendered, delivery_id: str, unsubscribe_url: str | None) -> Attempt:
        s = self.settings
        mail = message(s.sender, to, rendered, delivery_id, unsubscribe_url)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()))
            return Attempt(False, code, f"recipient refused: {code} {_text(reply)}", permanent=code >= 500)
        except smtplib.SMTPDataError as error:  # the message refused for this recipient
            return Attempt(False, error.smtp_code, f"message refused: {error.smtp_code} {_text(error.smtp_error)}",
                           permanent=error.smtp_code >= 500)
        except smtplib.SMTPResponseException as error:  # our sender, our login: not the address's fault
            return Attempt(False, error.smtp_code, f"{error.smtp_code} {_text(error.smtp_error)}")
        except (OSError, smtplib.SMTPException) as error:  # refused connection, timeout, disconnect
            return Attempt(False, error=f"{type(error).__name__}: {error}"[:500] or type(error).__name__)
        return Attempt(True, 250)


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
