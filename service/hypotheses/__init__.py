"""Value hypotheses on epics: the record, the block in a description, the lifecycle, the one place that writes."""
