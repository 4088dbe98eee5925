"""``meterhub mail``: the e-mail outbox for the operator: list it, send what is due now, and
queue a failed mail again once its cause is fixed (docs/mail.md)."""

from __future__ import annotations

import typer

from meterhub.audit.service import Actor
from meterhub.cli.common import console, fail, friendly_errors, unit_of_work
from meterhub.config import get_settings
from meterhub.kit.clock import utcnow
from meterhub.notifications import outbox


def register(app: typer.Typer) -> None:
    mail_app = typer.Typer(help="The e-mail outbox.", no_args_is_help=True)
    app.add_typer(mail_app, name="mail")

    @mail_app.command("list")
    @friendly_errors
    def mail_list(
        state: str = typer.Option(
            "", help="Only mail in this state: queued, sending, sent, failed"
        ),
        limit: int = typer.Option(50, min=1, help="How many, newest first"),
    ) -> None:
        """The outbox, newest first: each mail's state, attempts and last error."""
        with unit_of_work() as session:
            rows = outbox.list_outbox(session, state=state or None, limit=limit)
            for m in rows:
                when = (m.sent_at or m.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S")
                typer.echo(
                    f"{m.id:>7} {m.state:8} {m.attempts:>2} {when} {m.to_address:32}"
                    f" {m.subject}" + (f"  [{m.last_error}]" if m.last_error else "")
                )
            if not rows:
                console.print("the outbox has no such mail")

    @mail_app.command("send")
    @friendly_errors
    def mail_send() -> None:
        """Send every mail due now to the SMTP server (the worker does this by itself)."""
        from meterhub.jobs.mail import send_due_mail

        settings = get_settings()
        if not settings.smtp_host:
            raise fail("mail is off: set METERHUB_SMTP_HOST (docs/mail.md); nothing was sent")
        run = send_due_mail(settings)
        console.print(f"{run.sent} sent, {run.retried} to retry later, {run.failed} failed")
        if run.retried or run.failed:
            raise typer.Exit(1)

    @mail_app.command("retry")
    @friendly_errors
    def mail_retry(mail_id: int) -> None:
        """Queue a failed mail again, due at once (after fixing what refused it)."""
        with unit_of_work() as session:
            mail = outbox.retry(session, actor=Actor.system("cli"), mail_id=mail_id, now=utcnow())
            console.print(f"mail {mail.id} to {mail.to_address} queued")
