include!("../build-support/host_probe.rs");

fn main() {
    probe_host();
}
