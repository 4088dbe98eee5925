"""The mail lane: a thread that sends the outbox's due e-mail over SMTP, one mail at a time.

Each mail is claimed (and committed) before the SMTP conversation and recorded after it, in
transactions of their own, so no session is held while a slow server answers. What a claim and
an outcome mean is the outbox's (``meterhub.notifications.outbox``); this module only speaks
SMTP (``smtplib``: plain, STARTTLS or TLS from the start, with an optional login, as
``METERHUB_SMTP_*`` say; docs/mail.md). With ``METERHUB_SMTP_HOST`` empty the lane never starts
and mail waits, queued, until it is set.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.kit.clock import utcnow
from meterhub.notifications import outbox
from meterhub.notifications.outbox import OutgoingMail

log = logging.getLogger(__name__)

Sender = Callable[[EmailMessage], None]
Clock = Callable[[], datetime]
#: The lane sends at most this many mails before handing its thread back to the sweep.
MAILS_PER_RUN = 100


def smtp_sender(settings: Settings) -> Sender:
    """Send one message to ``settings``' SMTP server; raises if the server did not accept it.

    One connection per mail: a connection kept open between mails could have been closed by the
    server, and notifications are few enough that the handshake costs nothing worth saving."""

    def send(message: EmailMessage) -> None:
        host, port = settings.smtp_host, settings.smtp_port_in_use()
        timeout = settings.smtp_timeout_seconds
        smtp: smtplib.SMTP
        if settings.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)

    return send


def is_permanent(exc: BaseException) -> bool:
    """A 5xx refusal of this mail (its recipient or its content): sending it again would be
    refused again. Everything else (no connection, a timeout, a 4xx, a refused login or sender,
    which the operator can fix) is worth another try."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False


def build_message(mail: OutgoingMail, *, settings: Settings) -> EmailMessage:
    """The e-mail for an outbox row. Its Message-ID is the row's, the same on every attempt, so
    a mail sent twice (a crash just after the server took it) shows once in a mail client."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = f"<meterhub.{mail.id}.{int(mail.created_at.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    text = mail.body
    if mail.link:
        text += f"\n\nOpen it in the portal: {settings.mail_portal_url.rstrip('/')}{mail.link}"
    message.set_content(text + "\n")
    return message


@dataclass
class MailRun:
    """What a run of the lane did: mails the server accepted, queued again, and failed."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, outcome: str) -> None:
        if outcome == "sent":
            self.sent += 1
        elif outcome == "queued":
            self.retried += 1
        elif outcome == "failed":
            self.failed += 1


class Mailer:
    """Sends due mail in one background lane (``dispatch``), or at once (``run``)."""

    def __init__(
        self, settings: Settings, *, send: Sender | None = None, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self.send = send or smtp_sender(settings)
        self.enabled = bool(settings.smtp_host) or send is not None
        self.clock = clock
        self.total = MailRun()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meterhub-mail")
        self._lock = threading.Lock()
        self._running: Future[MailRun] | None = None
        self._closed = False

    @property
    def _stuck_after(self) -> timedelta:
        return timedelta(seconds=self.settings.mail_stuck_seconds)

    def dispatch(self) -> bool:
        """Start the lane if mail is due and it is not running already; True if it started."""
        if not self.enabled or self._closed:
            return False
        with self._lock:
            if self._running is not None and not self._running.done():
                return False
        with session_scope(self.settings.database_url, write=False) as session:
            due = outbox.has_due(session, now=self.clock(), stuck_after=self._stuck_after)
        if not due:
            return False
        with self._lock:
            self._running = self._executor.submit(self._run_logged)
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Until the lane's current run has ended (or ``timeout`` seconds have passed)."""
        with self._lock:
            running = self._running
        if running is not None:
            wait_for([running], timeout=timeout)

    def close(self, *, timeout: float = 0.0) -> None:
        """Start no more mail, and give the mail in conversation with the server up to
        ``timeout`` seconds to finish and be recorded (one cut off is sent again later)."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        if timeout:
            self.wait(timeout)

    def run(self, *, limit: int = MAILS_PER_RUN) -> MailRun:
        """Send due mail, one at a time, until none is due or ``limit`` were tried."""
        run = MailRun()
        for _ in range(limit):
            if self._closed:
                break
            outcome = self.send_next()
            if outcome is None:
                break
            run.add(outcome)
            self.total.add(outcome)
        return run

    def _run_logged(self) -> MailRun:
        try:
            run = self.run()
        except Exception:  # the lane ends; a mail left ``sending`` is queued again later
            log.exception("sending mail failed")
            return MailRun()
        if run.retried or run.failed:
            log.warning("mail: %d sent, %d to retry, %d failed", run.sent, run.retried, run.failed)
        return run

    def send_next(self) -> str | None:
        """Claim the next due mail, send it, record the outcome; None when none is due."""
        url = self.settings.database_url
        with session_scope(url) as session:
            now = self.clock()
            outbox.requeue_stuck(session, now=now, stuck_after=self._stuck_after)
            claimed = outbox.claim_due(session, now=now, limit=1)
        if not claimed:
            return None
        [mail] = claimed
        try:
            self.send(build_message(mail, settings=self.settings))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            with session_scope(url) as session:
                return outbox.record_failure(
                    session,
                    mail_id=mail.id,
                    error=error,
                    permanent=is_permanent(exc),
                    now=self.clock(),
                    max_attempts=self.settings.mail_max_attempts,
                    first_retry=timedelta(seconds=self.settings.mail_retry_seconds),
                )
        with session_scope(url) as session:
            outbox.record_sent(session, mail_id=mail.id, now=self.clock())
        return "sent"


def send_due_mail(
    settings: Settings, *, send: Sender | None = None, now: datetime | None = None
) -> MailRun:
    """Send every mail due now, waiting for each (``meterhub mail send``)."""
    mailer = Mailer(settings, send=send, clock=(lambda: now) if now is not None else utcnow)
    try:
        total = MailRun()
        while True:
            run = mailer.run()
            total.sent += run.sent
            total.retried += run.retried
            total.failed += run.failed
            if run.sent + run.retried + run.failed < MAILS_PER_RUN:
                return total
    finally:
        mailer.close()
