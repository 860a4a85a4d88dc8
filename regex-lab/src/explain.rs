//! `regex-lab explain`: trace one line through every stage of a filter.

pub mod sanitize;
