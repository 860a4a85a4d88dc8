include!("../build-support/host_probe.rs");

use std::path::Path;

/// The project's annotated corpora (`corpora/<filter>`) are embedded so `install` can self-test
/// the filters anywhere. A corpus that is not there yet becomes `None` (and a build warning):
/// the self-test then reports it as missing instead of the build failing.
fn embed_corpora() {
    let out = std::env::var("OUT_DIR").unwrap();
    let mut code = String::from("/// `(filter, corpus text)` for every built-in filter.\npub static CORPORA: &[(&str, Option<&str>)] = &[\n");
    for name in ["proxmox", "sshd", "proxmenux"] {
        let rel = format!("../corpora/{name}");
        let p = Path::new(&rel);
        if p.is_file() {
            println!("cargo::rerun-if-changed={rel}");
            let abs = p.canonicalize().unwrap();
            code.push_str(&format!(
                "    ({name:?}, Some(include_str!({:?}))),\n",
                abs.display().to_string()
            ));
        } else {
            // A missing path would rerun this script on every build; the corpora arrive together
            // with the filters, so watch the filter instead.
            println!("cargo::rerun-if-changed=../regex-lab/filters/{name}.conf");
            println!("cargo::warning=corpora/{name} is missing: the {name} filter self-test will report it");
            code.push_str(&format!("    ({name:?}, None),\n"));
        }
    }
    code.push_str("];\n");
    std::fs::write(Path::new(&out).join("corpora.rs"), code).unwrap();
}

fn main() {
    probe_host();
    embed_corpora();
}
