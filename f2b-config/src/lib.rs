//! `f2b_config`: installs, removes and checks the f2b-sidecar fail2ban setup on a Proxmox VE
//! host, byte-exactly reversibly.
//!
//! # Brief overview
//!
//! Every command goes plan → diff → apply:
//!
//! ```text
//!  profile (values as data) ─┐
//!  probe (host facts) ───────┼─► plan ──► diff (--dry-run: unified diff, writes nothing)
//!  view (the tree as it was  │     │
//!   before f2b-config,       │     └────► apply (lock, atomic writes, sshd -t, rollback,
//!   via the manifest) ───────┘             services) ──► manifest (versioned backups)
//! ```
//!
//! [`render`] turns a [`profile::Profile`] and the host facts into files (jails, filters,
//! f2b-logger units, logrotate, tmpfiles); [`journald`] and [`sshd`] plan the two edits that
//! depend on what is already there; [`proxmenux`] recognises a ProxMenux install to adopt.
//! [`plan`] compares all of it with the tree, seen through [`view::View`] as it was before
//! f2b-config, and with the [`manifest::Manifest`]; [`apply`] carries the plan out as one
//! transaction. Every path goes through [`root::Root`], so `--root DIR` works on a staged tree.
//! [`commands`] strings this together for the CLI; [`status`] reports.
//!
//! Guarantees: only files of our own names (and `.local` overrides) are written, plus the
//! sshd_config edit; every replaced file is backed up (bytes, mode, owner) once; `remove`
//! restores every original byte-exactly and deletes only what `install` created; nothing is
//! half-done on failure.

pub mod apply;
pub mod builtin;
pub mod cmd;
pub mod commands;
pub mod diff;
pub mod error;
pub mod fsx;
pub mod ignoreip;
pub mod ini;
pub mod journald;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod probe;
pub mod profile;
pub mod proxmenux;
pub mod render;
pub mod root;
pub mod selftest;
pub mod services;
pub mod sshd;
pub mod status;
pub mod view;

pub use error::{Error, Result};
