"""
An app of the standalone settings, installed with edx-submissions only: its two migrations let
edx-submissions' ``0006_mariadb_uuid_conversion`` run on a new MariaDB database (see
``migrations/0001_before_submissions_mariadb_uuid.py``). edx-platform never installs it.
"""
