"""Logging in to Zoho and keeping credentials. Prints nothing; imports nothing heavy.

The shape, each module depending only on those above it:

- ``model``: values shared by everything (``LoginMode``, ``Storage``, ``LoginRecord``,
  ``ProfileStatus``); no zbulk imports but errors. The ``TokenSource`` protocol the
  tokens fulfil lives with the HTTP layer (``zbulk.http``), which never imports auth.
- ``oauth``: the accounts server's endpoints (``OAuthApp``: accounts URL, client id, secret),
  through a ``Post`` it is handed (``zbulk.http.Http.form_poster``: auth sends nothing itself).
- ``state``: the machine-owned login records beside ``config.toml`` (locked, atomic).
- ``stores``: where secrets live: the OS keyring, or an owner-only file.
- ``tokens``: the token for a command (``ZBULK_TOKEN``, or the refreshing stored login).
- ``profiles``: the use-cases ``login``, ``status`` and ``logout``, returning typed results.
"""
