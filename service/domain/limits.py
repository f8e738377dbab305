"""How long identifiers may be. Columns are sized by these, and events are checked against them at intake.

Identifiers are bounded because they are primary keys and index entries (PostgreSQL cannot index an entry much
over 2,700 bytes); an event whose identifier is longer is refused when it arrives, naming the field. Descriptive
text (titles, descriptions, URLs, names, goals, issue types) is stored whole, in unbounded text columns.
"""

from __future__ import annotations

KEY = 300  # tracker-qualified keys of tickets, epics and iterations: `github:owner/repo#34`, `jira:sprint/37`
LABEL = 300  # label names (GitHub allows 50 characters, Jira 255)
ACTOR = 200  # who acted: `github:<login>`, `jira:<account id>`, `token:<name>`, `rule:<id>`
NODE_ID = 100  # GitHub GraphQL node ids (about 20 characters today)
BOARD = 100  # Jira board ids
SOURCE = 20  # integration names: `github`, `jira`, `gitlab`
DELIVERY_ID = 200  # a tracker's own delivery id (GitHub's is a 36-character UUID)
EVENT_NAME = 100  # webhook event and action names (`issues`, `jira:issue_updated`, `labeled`)
