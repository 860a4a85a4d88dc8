//! Helpers for the end-to-end tests: namespaces, processes started and stopped by PID.
