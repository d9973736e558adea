"""Hostile servers, hostile files and hostile local conditions, against the installed zbulk."""
