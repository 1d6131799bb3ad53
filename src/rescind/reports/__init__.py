"""Compliance reports: the figures a regulator asks for, computed from the database.

`figures` counts a period's cases (SQL aggregates, one pass each); `render` writes them as CSV,
JSON, HTML with server-side SVG charts, or PDF; `transparency_db` exports statements of reasons
in the EU Transparency Database's format; `dsa_templates` lays out the Art. 15/24 figures.
"""
