"""The attention signal's Python side: the numpy reference of the model and its weights files
(training builds on these; the daemon runs the Rust forward pass)."""
