"""Code generated from proto/ by `make proto`. Do not edit; the staleness test checks it."""
