//! Signals end a run cleanly (issue 10): see the helper's implementation.
