"""The writes that act on the graph: accept, propose and decline a match, an auditor's mark, the
obligations and tier records an evaluation leaves. ``queries/`` only reads; ``policy/`` decides.
"""
