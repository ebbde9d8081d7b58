"""The command groups; importing them registers their commands on ``cli.app.app``, in the order
``aidgraph --help`` lists them (the data's way in first, the server and keys last)."""

# ruff: noqa: I001, F401
from cli.commands import data
from cli.commands import household
from cli.commands import audit
from cli.commands import linkage
from cli.commands import services
from cli.commands import resources
from cli.commands import casework
from cli.commands import intake
from cli.commands import policy
from cli.commands import identity
from cli.commands import serve
from cli.commands import keys
