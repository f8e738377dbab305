"""Stakeholder check-ins: who is asked about which hypothesis, rounds and prompts, answers from every channel."""
