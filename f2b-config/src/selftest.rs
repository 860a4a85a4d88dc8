//! The filter self-test: before a built-in filter is enabled, its embedded corpus
//! (`corpora/<filter>`, fail2ban's `# failJSON:` sample format) must pass against it.
//! `install` refuses a filter that fails; `status` reports the result.

use crate::builtin;

/// The outcome for one filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every annotated sample judged as expected.
    Pass { samples: usize },
    /// The corpus fails: the filter must not be enabled.
    Fail(String),
    /// The test could not run (reported as a warning, does not block).
    Unavailable(String),
}

/// Number of `# failJSON:` annotations in a corpus.
pub fn annotated_samples(corpus: &str) -> usize {
    corpus.lines().filter(|l| l.trim_start().starts_with("# failJSON:")).count()
}

/// Runs the self-test of built-in filter `name`.
pub fn check(name: &str) -> Verdict {
    let Some(filter) = builtin::filter_text(name) else {
        return Verdict::Fail(format!("no built-in filter {name}"));
    };
    let Some(corpus) = builtin::corpus(name) else {
        return Verdict::Unavailable(format!(
            "corpora/{name} was not there when f2b-config was built"
        ));
    };
    if annotated_samples(corpus) == 0 {
        return Verdict::Fail(format!("corpora/{name} has no `# failJSON:` sample"));
    }
    if !filter.lines().any(|l| l.trim_start().starts_with("failregex")) {
        return Verdict::Fail("the filter has no failregex".into());
    }
    // The same judgement as `regex-lab verify` (fail2ban's sample-test rules), on the embedded
    // corpus and the embedded filter, with the sample tests' clock.
    let report = regex_lab::verify::verify_text(
        name,
        corpus,
        &regex_lab::config::ConfigSource::Builtin,
        &regex_lab::date::Clock::fail2ban_tests(),
        |added| Err(format!("addFILE {added} is not embedded in f2b-config")),
    );
    if report.passed() {
        Verdict::Pass { samples: report.samples }
    } else {
        let mut text = String::new();
        report.render(&mut text);
        Verdict::Fail(text.trim_end().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_filter_is_checked() {
        for name in builtin::names() {
            assert!(matches!(check(name), Verdict::Pass { .. }), "{name}: {:?}", check(name));
        }
        assert!(matches!(check("nope"), Verdict::Fail(_)));
    }

    #[test]
    fn counts_annotations() {
        assert_eq!(annotated_samples("# failJSON: {}\nline\n  # failJSON: {}\n# other\n"), 2);
    }
}
