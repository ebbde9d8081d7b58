"""Service assistance: the service catalogue a district works with."""

from __future__ import annotations

from cli.app import CatalogueOpt, JsonOpt, _table, app, emit, friendly, out


@app.command()
@friendly
def catalogue(catalogue: CatalogueOpt = None, as_json: JsonOpt = False) -> None:
    """The service catalogue: groups, service levels, tags with their response time, the market's
    categories and the need types. With --catalogue, checks a district's file and shows it."""
    from policy.catalogue import load_catalogue

    loaded = load_catalogue(catalogue)

    def show() -> None:
        out.print(f"[bold]{loaded.name}[/bold]: {len(loaded.groups)} groups, {len(loaded.levels)} service levels, {len(loaded.tags)} tags")
        out.print("groups: " + ", ".join(f"{name} ({code})" for code, name in loaded.groups.items()), markup=False)
        out.print("service levels: " + ", ".join(f"{name} ({code})" for code, name in loaded.levels.items()), markup=False)
        out.print(
            "tags: " + ", ".join(f"{t.name} ({code}, answer within {t.response_hours} h)" for code, t in loaded.tags.items()), markup=False
        )
        subs = sum(len(m.sub) for m in loaded.market.values())
        out.print(f"market: {len(loaded.market)} categories, {subs} sub-categories", markup=False)
        for m in loaded.market.values():
            out.print(f"  {m.name}: {', '.join(m.sub.values())}", markup=False)
        table = _table(f"need types ({len(loaded.need_types)})", "code", "name", "level", "groups", "category", "market")
        for t in loaded.need_types:
            table.add_row(t.code, t.name, loaded.levels[t.level], ", ".join(loaded.groups[g] for g in t.groups), t.category, t.market)
        out.print(table)

    emit(loaded, as_json=as_json, table=show)
