"""The use cases: pull, detect, flag, settle, one calendar cycle, the offline audit (SPEC §5–§9)."""
