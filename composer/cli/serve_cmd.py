"""`bulletin serve`: run the unsubscribe and events service under uvicorn."""

from __future__ import annotations

import click

from composer.cli import AppContext


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Keep loopback and put an HTTPS reverse proxy in front.",
)
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes. More than one needs nothing but a shared store (PostgreSQL).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="How much uvicorn and the service log.",
)
@click.option(
    "--schedules/--no-schedules",
    default=True,
    show_default=True,
    help="Run scheduled sends when they are due (each by exactly one process, by a database lease).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, log_level: str, schedules: bool) -> None:
    """Serve one-click unsubscribe (/u/TOKEN), the SendGrid Event Webhook
    (/webhooks/sendgrid), review links (/review/TOKEN), /healthz, and run due scheduled sends.

    Links in sent emails point at base_url in bulletin.toml; the proxy there forwards to
    this service. SENDGRID_WEBHOOK_PUBLIC_KEY must hold the webhook's verification key.
    """
    import logging
    import os

    import uvicorn

    from composer.store.db import Store, safe_url
    from composer.web.app import check_startup
    from composer.web.asgi import ENV_SCHEDULES
    from composer.web.jobs import start_serve_jobs
    from composer.web.server import uvicorn_options
    from composer.workspace import ENV_WORKSPACE

    obj = ctx.find_object(AppContext)
    assert obj is not None
    workspace = obj.workspace()
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    webhook_key_set = check_startup(workspace)
    # Migrate once here, so that several workers do not race to create the schema.
    url = workspace.database_url()
    Store(url).close()
    if not webhook_key_set:
        click.secho(
            "warning: no usable SENDGRID_WEBHOOK_PUBLIC_KEY; POST /webhooks/sendgrid will "
            "refuse every request (403) until it is set.",
            fg="yellow",
            err=True,
        )
    click.echo(
        f"bulletin serve: {workspace.sender.base_url} → http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}, store {safe_url(url)})",
        err=True,
    )
    start_serve_jobs(workspace, url)  # the daily prune; the [inbox] read every `every`
    if workspace.config.inbox.url:
        click.echo(f"bulletin serve: reading the inbox every {workspace.config.inbox.every}", err=True)
    # Workers find the workspace through the environment (uvicorn needs an import string).
    os.environ[ENV_WORKSPACE] = str(workspace.root)
    os.environ[ENV_SCHEDULES] = "1" if schedules else "0"
    uvicorn.run(
        "composer.web.asgi:create_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
        server_header=False,
        access_log=log_level == "debug",
        **uvicorn_options(),
    )
