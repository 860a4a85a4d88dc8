//! `--dry-run`: a unified diff of every change, plus what would be run.

use similar::TextDiff;

use crate::fsx::{FileState, Node};
use crate::plan::Plan;

fn describe(f: &FileState) -> String {
    format!("mode {:04o}, owner {}:{}", f.mode, f.uid, f.gid)
}

/// The diff of one file, `a/` = now, `b/` = after.
pub fn file_diff(path: &str, before: Option<&FileState>, after: Option<&FileState>) -> String {
    let rel = path.trim_start_matches('/');
    let (old_name, new_name) = (
        if before.is_some() { format!("a/{rel}") } else { "/dev/null".into() },
        if after.is_some() { format!("b/{rel}") } else { "/dev/null".into() },
    );
    let mut out = String::new();
    match (before, after) {
        (None, Some(a)) => out.push_str(&format!("new file {path} ({})\n", describe(a))),
        (Some(_), None) => out.push_str(&format!("deleted file {path}\n")),
        (Some(b), Some(a)) if (b.mode, b.uid, b.gid) != (a.mode, a.uid, a.gid) => {
            out.push_str(&format!("{path}: {} -> {}\n", describe(b), describe(a)))
        }
        _ => {}
    }
    let empty = Vec::new();
    let old = before.map(|b| &b.content).unwrap_or(&empty);
    let new = after.map(|a| &a.content).unwrap_or(&empty);
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(o), Ok(n)) => {
            if o != n {
                let d = TextDiff::from_lines(o, n);
                out.push_str(
                    &d.unified_diff().context_radius(3).header(&old_name, &new_name).to_string(),
                );
                if !n.is_empty() && !n.ends_with('\n') || !o.is_empty() && !o.ends_with('\n') {
                    out.push_str("\\ No newline at end of file\n");
                }
            } else if before.is_none() || after.is_none() {
                out.push_str(&format!("--- {old_name}\n+++ {new_name}\n(empty file)\n"));
            }
        }
        _ => out.push_str(&format!("Binary files {old_name} and {new_name} differ\n")),
    }
    out
}

/// Every change of `plan`, then notes and warnings.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    for c in &plan.changes {
        let before = match &c.current {
            Node::File(f) => Some(f),
            _ => None,
        };
        out.push_str(&format!("# {} ({})\n", c.path, c.why));
        out.push_str(&file_diff(&c.path, before, c.target.as_ref()));
        out.push('\n');
    }
    if plan.changes.is_empty() {
        out.push_str("# no file changes\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_new_changed_and_deleted_files() {
        let a = FileState::new("x\ny\n", 0o644);
        let b = FileState::new("x\nz\n", 0o600);
        let d = file_diff("/etc/f", Some(&a), Some(&b));
        assert!(
            d.contains("--- a/etc/f\n+++ b/etc/f\n")
                && d.contains("-y\n+z\n")
                && d.contains("mode 0644"),
            "{d}"
        );
        let n = file_diff("/etc/n", None, Some(&a));
        assert!(
            n.starts_with("new file /etc/n") && n.contains("--- /dev/null") && n.contains("+x\n"),
            "{n}"
        );
        let r = file_diff("/etc/n", Some(&a), None);
        assert!(r.contains("+++ /dev/null") && r.contains("-x\n"), "{r}");
        let e = file_diff("/var/log/l", None, Some(&FileState::new("", 0o640)));
        assert!(e.contains("(empty file)"), "{e}");
    }
}
