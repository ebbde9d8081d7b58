"""API keys: create, list, revoke."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import JsonOpt, StateOpt, _state_dir, _table, app, emit, err, friendly, out

keys_app = typer.Typer(help="API keys: create, list, revoke (the server reads them at each request).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
@friendly
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or which system holds the key.")],
    role: Annotated[str, typer.Option("--role", help="caseworker, auditor, charity, consumer or admin.")],
    region: Annotated[
        str | None, typer.Option("--region", help="Region code whose subtree the key sees (caseworkers must have one).")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="A charity coordinator's organisation (its resource id).")] = None,
    routes: Annotated[
        str | None, typer.Option("--routes", help="A consumer's routes, comma-separated (e.g. households.get,households.chain).")
    ] = None,
    rate: Annotated[int | None, typer.Option("--rate", min=1, help="Requests per minute (default from the server's settings).")] = None,
    state: StateOpt = None,
    by: Annotated[str, typer.Option("--by", help="Who makes it (kept).")] = "cli",
) -> None:
    """Make a key and print its token once (only its hash is kept)."""
    from api.core.security import KeyRing

    ring = KeyRing(_state_dir(state) / "keys.sqlite")
    made = ring.create(
        name=name,
        role=role,
        region=region,
        org=org,
        routes=[r.strip() for r in (routes or "").split(",") if r.strip()],
        rate_per_minute=rate,
        by=by,
    )
    ring.close()
    err.print(f"key {made.key_id} for {name} ({made.caller.role.value}); the token is shown once:", markup=False)
    out.print(made.token, markup=False)


@keys_app.command("list")
@friendly
def keys_list(state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Every key with its role and scope (never its secret)."""
    from api.core.security import KeyRing

    ring = KeyRing(_state_dir(state) / "keys.sqlite")
    keys = ring.list()
    ring.close()

    def show() -> None:
        table = _table(f"API keys ({len(keys)})", "key", "name", "role", "region", "org", "routes", "rate/min", "created", "revoked")
        for k in keys:
            table.add_row(
                k["key_id"],
                k["name"],
                k["role"],
                k["region"] or "",
                k["org"] or "",
                ",".join(k["routes"]),
                str(k["rate_per_minute"] or ""),
                k["created_at"],
                k["revoked_at"] or "",
            )
        out.print(table)

    emit(keys, as_json=as_json, table=show)


@keys_app.command("revoke")
@friendly
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (not the token).")],
    state: StateOpt = None,
    by: Annotated[str, typer.Option("--by")] = "cli",
) -> None:
    """Revoke a key: the next request with it is refused."""
    from api.core.security import KeyRing

    ring = KeyRing(_state_dir(state) / "keys.sqlite")
    done = ring.revoke(key_id, by=by)
    ring.close()
    if not done:
        raise ValueError(f"no live key {key_id}")
    out.print(f"revoked {key_id}")
