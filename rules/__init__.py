"""Rules: the public-value taxonomy and the rule packs that say when to nudge, ask and alert."""
