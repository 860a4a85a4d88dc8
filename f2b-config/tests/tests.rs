//! f2b-config on staged Debian 12 trees built from the real packages' files
//! (scripts/stage-debian-tree.sh), with the real sshd, fail2ban-client, logrotate and systemd
//! tools where this host has them.

mod util;

mod bad_input;
mod install;
mod journald_variants;
mod proxmenux;
mod real_tools;
mod sshd_variants;
