"""The human views: rich renderables built from typed results. Nothing here prints,
reads files or talks to the network; ``zbulk.output.Output.emit`` decides whether a
result is shown through these views or as JSON.

- ``widgets``: the shared pieces (safe cells, label/value fields, tables that stack)
- ``job``: ``job show`` (full and ``--brief``)
- ``watch``: ``job watch`` (live panel, plain lines, summary)
- ``results``, ``recent``, ``auth``: their commands' views
"""
