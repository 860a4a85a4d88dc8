//! `regex-lab`: replay, verify and explain fail2ban filters (thin CLI over `regex_lab`).
fn main() {
    println!("regex-lab: not yet implemented");
}
