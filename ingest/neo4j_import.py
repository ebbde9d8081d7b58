"""The bulk first load of an empty Neo4j: ``aidgraph ingest DIR --neo4j URI --initial``.

The folder is validated by the loader exactly as for a transactional ingest (same rows rejected,
same report); its batches are written, instead of sent over Bolt, to the CSV files of Neo4j's own
import tool (``neo4j-admin database import full``), which builds the database files directly; the
DBMS is stopped for it and started again, and the store's schema (key constraints, indexes) is
then created as on any open. Later loads stay transactional.

The import tool writes a database's files, so it runs where they are: here, a Neo4j run by
``ops/neo4j/start.sh`` on this machine (the one ``make demo``, the tests and ``python -m bench``
use), found by its Bolt port. A Neo4j elsewhere is refused with what to do instead.

An initial load takes each node once (``graph.stores.staged``): a node that reached the files
twice stops the load before the import tool runs, naming the kind and key (the database was empty
and stays so). A problem the import tool
finds leaves the database empty too: it is started afresh and the error says what failed.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from graph.model import NODE_KEY, NodeKind, RelKind
from graph.store import StoreError, WriteBatch, WriteResult
from graph.stores.ladybug import NODE_COLUMNS, REL_COLUMNS
from graph.stores.staged import RepeatedNode, StagedLoad
from ingest.codes import CatalogueCodes

__all__ = ["ImportFiles", "InitialLoad", "import_initial", "launcher_port"]

OPS = Path(__file__).resolve().parents[1] / "ops" / "neo4j"
#: Lists travel in one field, their items split by this character (never in AidGraph's values).
ARRAY_DELIMITER = "\x1f"
_TYPES = {"STRING": "string", "DOUBLE": "double", "INT64": "long", "BOOLEAN": "boolean", "STRING[]": "string[]"}


class ImportFiles(StagedLoad):
    """The staged first load as the CSV files of Neo4j's import tool: one file per node kind and
    per relationship type and end kinds.

    >>> import tempfile
    >>> from graph.store import NodeWrite
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = ImportFiles(Path(d))
    ...     _ = files.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, "DIBAO", {"program_code": "DIBAO", "name": "低保"})]))
    ...     files.close()
    ...     print(Path(d, "Program.csv").read_text(encoding="utf-8").splitlines()[1])
    DIBAO,低保,,,,,
    """

    engine = "neo4j"

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self._writers: dict[Any, Any] = {}
        self._files: list[Any] = []
        self.files: dict[str, list[tuple[str, Path]]] = {"nodes": [], "relationships": []}

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        try:
            return super().write_batch(batch)
        except RepeatedNode as exc:
            raise StoreError(
                f"{exc}: remove the repeated row, or load without --initial (the transactional ingest merges them)", question="write_batch"
            ) from None

    def _add_node(self, kind: NodeKind, props: dict[str, Any]) -> None:
        columns = NODE_COLUMNS[kind]
        writer = self._writers.get(("node", kind)) or self._open(
            ("node", kind), kind.value, [f"{NODE_KEY[kind]}:ID({kind.value})", *_typed(columns, skip=1)]
        )
        writer.writerow(_cells(columns, props))

    def _add_edge(self, rel: RelKind, src_kind: NodeKind, src_key: str, dst_kind: NodeKind, dst_key: str, props: dict[str, Any]) -> None:
        columns = REL_COLUMNS[rel]
        slot = ("rel", rel, src_kind, dst_kind)
        writer = self._writers.get(slot) or self._open(
            slot,
            f"{rel.value}-{src_kind.value}-{dst_kind.value}",
            [f":START_ID({src_kind.value})", f":END_ID({dst_kind.value})", *_typed(columns)],
            rel=rel.value,
        )
        writer.writerow([src_key, dst_key, *_cells(columns, props)])

    def _open(self, slot: Any, name: str, header: list[str], rel: str | None = None) -> Any:
        path = self.folder / f"{name}.csv"
        f = path.open("w", encoding="utf-8", newline="")
        self._files.append(f)
        writer = self._writers[slot] = csv.writer(f)
        writer.writerow(header)
        self.files["relationships" if rel else "nodes"].append((rel or name, path))
        return writer

    def close(self) -> None:
        for f in self._files:
            f.close()
        self._files.clear()
        self._writers.clear()
        super().close()


def _typed(columns: dict[str, str], skip: int = 0) -> list[str]:
    return [f"{name}:{_TYPES[type_]}" for name, type_ in list(columns.items())[skip:]]


def _cells(columns: dict[str, str], props: dict[str, Any]) -> list[Any]:
    unknown = props.keys() - columns.keys()
    if unknown:
        raise StoreError(f"no property {', '.join(sorted(unknown))}; known: {', '.join(columns)}", question="write_batch")
    cells = []
    for name, type_ in columns.items():
        value = props.get(name)
        if value is None:
            cells.append("")
        elif type_ == "STRING[]":
            cells.append(ARRAY_DELIMITER.join(str(v) for v in value))
        elif type_ == "BOOLEAN":
            cells.append("true" if value else "false")
        else:
            cells.append(getattr(value, "value", value))
    return cells


# -- the launcher's Neo4j ----------------------------------------------------------------------


def launcher_port(uri: str) -> int:
    """The Bolt port of a Neo4j that ``ops/neo4j/start.sh`` runs on this machine, or a StoreError
    saying why ``uri`` is not one.

    >>> launcher_port("neo4j://db.example.org:7687")
    Traceback (most recent call last):
    ...
    graph.store.StoreError: --initial runs Neo4j's import tool on the database's own files, so it loads only a Neo4j started by ops/neo4j/start.sh on this machine (bolt://127.0.0.1:PORT); for db.example.org:7687 load without --initial, or run neo4j-admin database import full on that server
    """
    parts = urlsplit(uri)
    port = parts.port or 7687
    running = OPS / "run" / f"neo4j-{port}.pid"
    if parts.hostname not in ("127.0.0.1", "localhost") or not running.exists() or not _alive(int(running.read_text().strip() or 0)):
        raise StoreError(
            "--initial runs Neo4j's import tool on the database's own files, so it loads only a Neo4j started by "
            "ops/neo4j/start.sh on this machine (bolt://127.0.0.1:PORT); for "
            f"{parts.hostname}:{port} load without --initial, or run neo4j-admin database import full on that server"
        )
    return port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0


@dataclass
class InitialLoad:
    """What an initial load did and how long each step took (seconds)."""

    report: Any
    nodes: Counter
    relationships: Counter
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.report.files)


def import_initial(
    folder: Path,
    uri: str,
    *,
    batch_size: int = 5000,
    encoding: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    open_store: Callable[[str], Any] | None = None,
    codes: CatalogueCodes | None = None,
) -> InitialLoad:
    """Load ``folder`` into the empty Neo4j at ``uri`` (a launcher's) with the import tool; rows are
    checked as ``ingest_folder`` checks them (``codes``: the service catalogue's)."""
    from graph.stores.neo4j import Neo4jStore
    from ingest.loader import ingest_folder

    opener = open_store or Neo4jStore.from_env
    port = launcher_port(uri)
    timings: dict[str, float] = {}
    with opener(uri) as store:
        held = sum(store.counts().nodes.values())
    if held:
        raise StoreError(f"--initial loads an empty database; the one at {uri} holds {held} nodes: load without --initial")
    data = OPS / "run" / f"data-{port}"
    with tempfile.TemporaryDirectory(prefix="aidgraph-import-", dir=OPS / "run") as tmp:
        files = ImportFiles(Path(tmp))
        t = time.perf_counter()
        try:
            report = ingest_folder(files, folder, batch_size=batch_size, progress=progress, encoding=encoding, codes=codes)  # type: ignore[arg-type]
        finally:
            files.close()
        timings["validate"] = time.perf_counter() - t
        if not files.nodes:
            return InitialLoad(report, files.nodes, files.relationships, timings)
        t = time.perf_counter()
        _run_launcher("stop.sh", port)
        try:
            _import_tool(data, files, Path(tmp))
        except StoreError:
            # The database was empty: start it empty again, then say what failed.
            _run_launcher("start.sh", port, keep=False)
            raise
        _run_launcher("start.sh", port, keep=True)
        timings["import"] = time.perf_counter() - t
    t = time.perf_counter()
    with opener(uri) as store:  # opening creates the key constraints and indexes
        counts = store.counts()
    timings["schema"] = time.perf_counter() - t
    loaded = ({k: v for k, v in counts.nodes.items() if v}, {k: v for k, v in counts.edges.items() if v})
    if loaded != (dict(files.nodes), dict(files.relationships)):
        raise StoreError(f"the import tool loaded {loaded}, not the {dict(files.nodes)}, {dict(files.relationships)} validated")
    return InitialLoad(report, files.nodes, files.relationships, timings)


def _run_launcher(script: str, port: int, *, keep: bool = True) -> None:
    env = {**os.environ, "AIDGRAPH_NEO4J_KEEP_DATA": "1" if keep else "0"}
    # A Neo4j that asked for a password is started with it again (the one AidGraph connects with).
    password = os.environ.get("AIDGRAPH_NEO4J_PASSWORD") if script == "start.sh" else None
    command = ["bash", str(OPS / script), str(port), *([password] if password else [])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603  (our scripts and java, no shell)
    if done.returncode != 0:
        raise StoreError(f"ops/neo4j/{script} {port} failed: {(done.stderr or done.stdout).strip()[-400:]}")


def _import_tool(data: Path, files: ImportFiles, tmp: Path) -> None:
    conf = tmp / "conf"
    conf.mkdir()
    (conf / "neo4j.conf").write_text("", encoding="utf-8")
    command = [
        shutil.which("java") or "java",
        f"-Xmx{os.environ.get('AIDGRAPH_NEO4J_IMPORT_HEAP', '1g')}",
        "-cp",
        f"{OPS / 'target' / 'classes'}:{OPS / 'target' / 'lib'}/*",
        "org.neo4j.cli.AdminTool",
        "database",
        "import",
        "full",
        "neo4j",  # the database, before the lists of files (which would take it for one)
        "--overwrite-destination=true",
        "--multiline-fields=true",
        f"--array-delimiter=U+{ord(ARRAY_DELIMITER):04X}",
        f"--report-file={tmp / 'import.report'}",
        *(f"--nodes={label}={path}" for label, path in files.files["nodes"]),
        *(f"--relationships={rel}={path}" for rel, path in files.files["relationships"]),
    ]
    env = {**os.environ, "NEO4J_HOME": str(data), "NEO4J_CONF": str(conf)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603  (our scripts and java, no shell)
    if done.returncode != 0 or "IMPORT DONE" not in done.stdout:
        lines = [
            line.strip()
            for line in (done.stdout + done.stderr).splitlines()
            if line.strip() and not re.match(r"^[.\s]+\d+%", line) and not re.match(r"^\s+(at |\.\.\. \d+ more)", line)
        ]
        raise StoreError("Neo4j's import tool failed: " + " | ".join(lines[-6:])[-600:])
