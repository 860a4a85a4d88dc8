//! Shared inputs for the criterion benchmarks (seeded, deterministic).
