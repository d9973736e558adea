"""The human views: rich renderables and text built from typed results. Nothing here
prints, drives a live display, reads files or talks to the network
(``tests/test_views_never_print.py``); ``zbulk.output.Output.emit`` and
``Output.stream_events`` decide whether a result is shown through these views or as JSON.

- ``widgets``: the shared pieces (safe cells, label/value fields, tables that stack)
- ``job``: ``job show`` (full and ``--brief``)
- ``watch``: ``job watch`` (live panel, plain lines, finish and summary lines, messages)
- ``results``, ``recent``, ``auth``: their commands' views
"""
