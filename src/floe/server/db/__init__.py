"""Catalog database: tables, engines, migrations."""
