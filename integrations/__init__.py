"""Tracker integrations: one folder per tracker, each registered through the `pvm.integrations` entry points."""
