//! Trigger rules (taskotron-trigger's when/do YAML): parsing, validation and evaluation of events into planned jobs. Pure: no IO.
